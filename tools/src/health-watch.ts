/** Polls /health and reports each change of its verdict in one line, so the demo shows what broke. */

export interface HealthWatch {
  /** Resolves true once /health answered 200, false after `timeoutMs`. */
  firstOk: Promise<boolean>;
  stop(): void;
}

interface Body {
  status?: string;
  problems?: string[];
}

export function watchHealth(url: string, intervalMs: number, timeoutMs: number, print: (line: string) => void): HealthWatch {
  let last = '';
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let resolveOk: (ok: boolean) => void = () => undefined;
  const firstOk = new Promise<boolean>((resolve) => (resolveOk = resolve));
  const deadline = setTimeout(() => resolveOk(false), timeoutMs);

  const poll = async () => {
    let line: string;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as Body;
      line = `${res.status} ${body.status ?? '?'}${body.problems?.length ? `: ${body.problems.join('; ')}` : ''}`;
      if (res.status === 200) {
        clearTimeout(deadline);
        resolveOk(true);
      }
    } catch (err) {
      line = `no answer (${(err as Error).message})`;
    }
    if (line !== last) {
      last = line;
      print(`health: ${line}`);
    }
    if (!stopped) timer = setTimeout(() => void poll(), intervalMs);
  };
  void poll();
  return {
    firstOk,
    stop() {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(deadline);
      resolveOk(false);
    },
  };
}
