/**
 * Training progress for a terminal: a bar with step, loss, images/s and ETA,
 * redrawn in place; plain log lines when output is not a terminal.
 * @module
 */

/** Where progress goes. */
export interface ProgressSink {
  isTTY: boolean;
  write(text: string): void;
}

/**
 * Reports steps as they finish.
 *
 * @example
 * ```ts
 * const p = new Progress(sink, { totalSteps: 1000, batchSize: 32, startStep: 0 });
 * p.update(1, 2.30, 0.5);
 * p.done();
 * ```
 */
export class Progress {
  private readonly start = performance.now();
  private lastLine = 0;
  private drawn = false;

  constructor(
    private readonly sink: ProgressSink,
    private readonly opts: { totalSteps: number; batchSize: number; startStep: number; logEvery?: number },
  ) {}

  /** Records that `step` steps are done (global step) with this loss. */
  update(step: number, loss: number, secPerStep: number): void {
    const doneHere = step - this.opts.startStep;
    const elapsed = (performance.now() - this.start) / 1000;
    const perStep = doneHere > 0 ? elapsed / doneHere : secPerStep;
    const eta = Math.max(0, (this.opts.totalSteps - step) * perStep);
    const imagesPerSec = this.opts.batchSize / Math.max(1e-9, secPerStep);
    const stats = `step ${step}/${this.opts.totalSteps}  loss ${loss.toFixed(4)}  ${imagesPerSec.toFixed(1)} img/s  ETA ${formatDuration(eta)}`;
    if (this.sink.isTTY) {
      const width = 24, filled = Math.round((width * step) / this.opts.totalSteps);
      this.sink.write(`\r[${"#".repeat(filled)}${".".repeat(width - filled)}] ${stats}\x1b[K`);
      this.drawn = true;
      return;
    }
    const every = this.opts.logEvery ?? 10;
    if (step % every === 0 || step === this.opts.totalSteps || performance.now() - this.lastLine > 30000) {
      this.sink.write(`${stats}\n`);
      this.lastLine = performance.now();
    }
  }

  /** Writes a message on its own line without breaking the bar. */
  log(line: string): void {
    if (this.drawn) this.sink.write("\r\x1b[K");
    this.sink.write(line + "\n");
  }

  /** Ends the bar's line. */
  done(): void {
    if (this.drawn) this.sink.write("\n");
    this.drawn = false;
  }
}

/**
 * 75 → "1m15s", 3725 → "1h02m".
 *
 * @example
 * ```ts
 * formatDuration(75); // "1m15s"
 * ```
 */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}
