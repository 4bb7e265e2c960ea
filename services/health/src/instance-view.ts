/**
 * What /health says about one instance, built from its `$SRV.STATS` answer (pure). Only fields
 * chosen here reach the body: nothing an instance reports is echoed wholesale, so a secret in a
 * future stats field cannot leak through /health.
 */
import type { Answer, Service, Snapshot } from './discovery.js';

export interface InstanceView {
  service: Service;
  /** The NATS services API id. */
  id: string;
  /** The instance's own name (host-pid...), when it reports one. */
  instance?: string;
  node?: string;
  version: string;
  startedAt: string;
  uptimeSeconds: number;
  /** False for an instance seen recently that did not answer this time. */
  answering: boolean;
  lastSeen: string;
  /** Gateways: the ARI WebSocket state and since when. */
  ari?: { state: string; since: string; reason?: string };
  role?: string;
  /** Controllers: this instance's own figures (the cluster-wide ones are the report's `calls`). */
  calls?: InstanceCalls;
  /** Controllers: their media path (transport, and whether media channels come up in time). */
  media?: InstanceMedia;
  /** Set when the instance answered with stats that do not match the contract. */
  problem?: string;
}

export interface InstanceMedia {
  transport?: string;
  connection?: string;
  state: string;
  since?: string;
  reason?: string;
}

export interface InstanceCalls {
  /** Being set up or torn down by this instance right now. */
  inSetupOrTeardown: number;
  /** Since this instance started. */
  started: number;
  ended: number;
  failed: number;
}

const uptime = (started: string, now: number) => {
  const t = Date.parse(started);
  return Number.isFinite(t) ? Math.max(0, Math.round((now - t) / 1000)) : 0;
};

function common(service: Service, a: Answer<unknown>, now: number): InstanceView {
  return {
    service,
    id: a.id,
    version: a.version,
    startedAt: a.started,
    uptimeSeconds: uptime(a.started, now),
    answering: true,
    lastSeen: new Date(now).toISOString(),
    ...(a.invalid === undefined ? {} : { problem: a.invalid }),
  };
}

export function viewInstances(snapshot: Snapshot): InstanceView[] {
  const now = snapshot.at;
  const gateways = snapshot.gateways.map((a): InstanceView => {
    const view = common('ari-gateway', a, now);
    const node = a.data?.node ?? a.metadata.node;
    const instance = a.data?.instance ?? a.metadata.instance;
    if (node !== undefined) view.node = node;
    if (instance !== undefined) view.instance = instance;
    if (a.data) {
      const { state, since, reason } = a.data.ari;
      view.ari = { state, since, ...(reason === undefined ? {} : { reason }) };
      if (a.data.role !== undefined) view.role = a.data.role;
    }
    return view;
  });
  const controllers = snapshot.controllers.map((a): InstanceView => {
    const view = common('call-controller', a, now);
    const instance = a.data?.instance ?? a.metadata.instance;
    if (instance !== undefined) view.instance = instance;
    if (a.data) {
      const { inSetupOrTeardown, started, ended, failed } = a.data.calls;
      view.calls = { inSetupOrTeardown, started, ended, failed };
      if (a.data.media) {
        // Chosen fields only, as everywhere in this view.
        const { transport, connection, state, since, reason } = a.data.media;
        view.media = {
          state, ...(transport === undefined ? {} : { transport }), ...(connection === undefined ? {} : { connection }),
          ...(since === undefined ? {} : { since }), ...(reason === undefined ? {} : { reason }),
        };
      }
    }
    return view;
  });
  return [...gateways, ...controllers];
}
