import cliProgress from 'cli-progress';
import type { CliStream } from './cli-deps.js';
import { NO_PROGRESS, nextProgress, type Progress, type ProgressSink, type ProgressSource } from './progress.js';

/**
 * The progress bar of `call` and `wait`, drawn by cli-progress on stderr (a terminal only: the caller decides).
 * It reads the invocation's RESPONSEs through nextProgress; stop() leaves the last drawing on the screen.
 */
export class ProgressView implements ProgressSink {
  private progress: Progress = NO_PROGRESS;
  private readonly bar: cliProgress.SingleBar;
  private stopped = false;

  constructor(stream: CliStream, label: string) {
    this.bar = new cliProgress.SingleBar(
      { stream, format: `${label} {bar} {percentage}% | {value}/{total} | {state}`, hideCursor: true, clearOnComplete: false, barsize: 30 },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(this.progress.total, this.progress.value, { state: this.progress.state });
  }

  /** Moves the bar by one of the invocation's RESPONSEs (events, then the outcome). */
  see(response: ProgressSource): void {
    if (this.stopped) return;
    const before = this.progress;
    this.progress = nextProgress(before, response);
    if (this.progress.total !== before.total) this.bar.setTotal(this.progress.total);
    this.bar.update(this.progress.value, { state: this.progress.state });
  }

  /** Draws the last state and gives the terminal line back. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.bar.stop();
  }
}
