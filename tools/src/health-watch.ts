/**
 * Polls /health for the demo: one line for each change of its verdict (so the demo shows what
 * broke and when it came back), and every `summaryMs` one line of what the calls did since the
 * last one, when they did anything.
 */

export interface HealthWatch {
  /** Resolves true once /health answered 200, false after `timeoutMs`. */
  firstOk: Promise<boolean>;
  stop(): void;
}

export interface CallFigures {
  active?: number;
  inProgress?: number;
  started?: number;
  ended?: number;
  failed?: number;
}

interface Body {
  status?: string;
  problems?: string[];
  calls?: CallFigures;
}

/** `calls: 8 active; in the last 10 s 20 started, 19 ended, 0 failed`; undefined when nothing moved. */
export function callSummary(previous: CallFigures | undefined, now: CallFigures, seconds: number): string | undefined {
  const delta = (k: 'started' | 'ended' | 'failed') => Math.max(0, (now[k] ?? 0) - (previous?.[k] ?? 0));
  const moved = delta('started') + delta('ended') + delta('failed');
  if (previous && moved === 0 && previous.active === now.active) return undefined;
  const active = now.active === undefined ? '' : `${now.active} active; `;
  const since = previous ? `in the last ${seconds} s` : 'so far';
  return `calls: ${active}${since} ${delta('started')} started, ${delta('ended')} ended, ${delta('failed')} failed`;
}

export interface HealthWatchOptions {
  url: string;
  intervalMs: number;
  timeoutMs: number;
  summaryMs: number;
  print(line: string): void;
}

export function watchHealth({ url, intervalMs, timeoutMs, summaryMs, print }: HealthWatchOptions): HealthWatch {
  let last = '';
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let latest: CallFigures | undefined;
  let summarised: CallFigures | undefined;
  let resolveOk: (ok: boolean) => void = () => undefined;
  const firstOk = new Promise<boolean>((resolve) => (resolveOk = resolve));
  const deadline = setTimeout(() => resolveOk(false), timeoutMs);
  const summary = setInterval(() => {
    if (!latest) return;
    const line = callSummary(summarised, latest, Math.round(summaryMs / 1000));
    summarised = latest;
    if (line) print(line);
  }, summaryMs);

  const poll = async () => {
    let line: string;
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const body = (await res.json()) as Body;
      line = `${res.status} ${body.status ?? '?'}${body.problems?.length ? `: ${body.problems.join('; ')}` : ''}`;
      if (body.calls) latest = body.calls;
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
      clearInterval(summary);
      resolveOk(false);
    },
  };
}
