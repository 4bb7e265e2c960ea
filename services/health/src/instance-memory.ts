/**
 * Remembers the instances seen recently, so one that stops answering is still listed (as not
 * answering, with when it was last seen) instead of silently vanishing from /health.
 */
import type { InstanceView } from './instance-view.js';

export interface InstanceMemory {
  /** Records what answered now; returns the remembered instances that did not answer. */
  update(answering: InstanceView[], now: number): InstanceView[];
}

export function createInstanceMemory(forgetAfterMs: number): InstanceMemory {
  const seen = new Map<string, { view: InstanceView; at: number }>();
  const key = (v: InstanceView) => `${v.service}/${v.id}`;
  return {
    update(answering, now) {
      for (const view of answering) seen.set(key(view), { view, at: now });
      const present = new Set(answering.map(key));
      const missing: InstanceView[] = [];
      for (const [k, { view, at }] of seen) {
        if (present.has(k)) continue;
        if (now - at > forgetAfterMs) {
          seen.delete(k);
          continue;
        }
        const { ari: _ari, calls: _calls, problem: _problem, ...rest } = view;
        missing.push({ ...rest, answering: false, uptimeSeconds: 0 });
      }
      return missing;
    },
  };
}
