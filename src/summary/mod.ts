/**
 * TensorBoard summaries: write scalars and histograms to event files that
 * TensorBoard reads, and read them back.
 *
 * @example
 * ```ts
 * import { EventFileWriter, readEvents } from "./mod.ts";
 * const writer = await EventFileWriter.create(fs, "logs/run1", { flushSecs: 30 });
 * writer.addScalar("loss", 0.5, 1);
 * await writer.close();
 * console.log(readEvents(await fs.readFile(writer.path)));
 * ```
 * @module
 */
export { type Bucket, EventFileWriter, type EventFileWriterOptions, histogramBuckets } from "./event_writer.ts";
export { type EventValue, type ReadEvent, readEvents } from "./event_reader.ts";
export { defaultHostname } from "./hostname.ts";
export { histogram, scalar, type SummarySpec } from "./summary_ops.ts";
