/** One named check's verdict; `detail` is shown on /healthz. */
export interface HealthCheck {
  ok: boolean;
  detail?: string;
}

/** The process's health: every registered check must pass ("connected and making progress", not just alive). */
export class HealthRegistry {
  private readonly checks = new Map<string, () => HealthCheck>();

  /** Adds or replaces a named check; it is evaluated on every /healthz request. */
  register(name: string, check: () => HealthCheck): void {
    this.checks.set(name, check);
  }

  report(): { ok: boolean; checks: Record<string, HealthCheck> } {
    const checks: Record<string, HealthCheck> = {};
    let ok = true;
    for (const [name, check] of this.checks) {
      let result: HealthCheck;
      try {
        result = check();
      } catch (err) {
        result = { ok: false, detail: `check threw: ${(err as Error).message}` };
      }
      checks[name] = result;
      ok &&= result.ok;
    }
    return { ok, checks };
  }
}

/**
 * A "making progress" check: healthy while `beat()` was called within `maxSilenceMs`. Time comes from `now`
 * (monotonic ms) so the rule is testable without a clock.
 */
export class ProgressCheck {
  private last: number;

  constructor(
    private readonly maxSilenceMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.last = now();
  }

  beat(): void {
    this.last = this.now();
  }

  check = (): HealthCheck => {
    const silent = this.now() - this.last;
    return silent <= this.maxSilenceMs ? { ok: true } : { ok: false, detail: `no progress for ${Math.round(silent)} ms` };
  };
}
