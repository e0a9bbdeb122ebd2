import { IPoll, Poll } from '@lumino/polling';

/**
 * Refresh scheduling: a Lumino `Poll` that
 * - backs off exponentially while requests fail (server down, extension missing),
 * - slows down while nothing changes (idle back-off, reset by any change or user action),
 * - stands by while the browser tab is hidden or the panel is not shown.
 */
export interface IRefreshOptions {
  /** seconds between refreshes while things change */
  interval: number;
  /** the longest interval, in seconds, for both back-offs */
  max: number;
}

/** The next idle interval: doubled while nothing changed, back to the base on a change. */
export function nextIdleInterval(
  current: number,
  changed: boolean,
  base: number,
  max: number
): number {
  if (changed) {
    return base;
  }
  return Math.min(Math.max(current, base) * 2, Math.max(base, max));
}

export class RefreshPoll {
  constructor(
    refresh: () => Promise<boolean>,
    isVisible: () => boolean,
    options: IRefreshOptions
  ) {
    this._options = options;
    this._interval = options.interval * 1000;
    this.poll = new Poll<boolean>({
      auto: true,
      factory: async () => {
        const changed = await refresh();
        this._idle(changed);
        return changed;
      },
      frequency: this._frequency(),
      name: 'blacklake-ml:refresh',
      standby: () => document.hidden || !isVisible()
    });
  }

  readonly poll: Poll<boolean>;

  /** The current idle interval in milliseconds (for tests and the status line). */
  get interval(): number {
    return this._interval;
  }

  /** Refresh now and reset the idle back-off. */
  async refreshNow(): Promise<void> {
    this._setInterval(this._options.interval * 1000);
    await this.poll.refresh();
    await this.poll.tick;
  }

  /** Apply new options (settings changed). */
  configure(options: IRefreshOptions): void {
    this._options = options;
    this._setInterval(options.interval * 1000);
  }

  dispose(): void {
    this.poll.dispose();
  }

  private _idle(changed: boolean): void {
    const base = this._options.interval * 1000;
    const max = this._options.max * 1000;
    const next = nextIdleInterval(this._interval, changed, base, max);
    if (next !== this._interval) {
      this._setInterval(next);
    }
  }

  private _setInterval(ms: number): void {
    this._interval = ms;
    if (!this.poll.isDisposed) {
      this.poll.frequency = this._frequency();
    }
  }

  private _frequency(): IPoll.Frequency {
    return {
      interval: this._interval,
      // failures: double the wait each time, up to `max`
      backoff: 2,
      max: Math.max(this._options.max * 1000, this._interval)
    };
  }

  private _options: IRefreshOptions;
  private _interval: number;
}
