/**
 * Writes one step's summary values to the event file.
 * @module
 */
import type { HostTensor } from "../graph/host_tensor.ts";
import type { EventFileWriter } from "../summary/event_writer.ts";
import type { SummarySpec } from "../summary/summary_ops.ts";

/**
 * Scalars and histograms from a step, plus `global_step/sec` when a rate is known.
 *
 * @example
 * ```ts
 * writeSummaries(writer, result.summaries!, step, 12.5);
 * ```
 */
export function writeSummaries(
  writer: EventFileWriter,
  values: Map<string, { spec: SummarySpec; value: HostTensor }>,
  step: number,
  stepsPerSec?: number,
): void {
  for (const { spec, value } of values.values()) {
    const data = value.data as Float32Array;
    if (spec.kind === "scalar") writer.addScalar(spec.name, data[0], step);
    else writer.addHistogram(spec.name, data, step);
  }
  if (stepsPerSec !== undefined && Number.isFinite(stepsPerSec)) writer.addScalar("global_step/sec", stepsPerSec, step);
}
