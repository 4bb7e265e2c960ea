// The ARI REST surface: decoded path segments (after /ari) to an operation and its reply.

import { bridgeJson } from './sim-model.js';
import { addChannels, createBridge, destroyBridge, findBridge, removeChannels } from './bridge-ops.js';
import { answerChannel, continueChannel, deleteChannel, getChannel } from './channel-ops.js';
import { createExternalMedia } from './external-media.js';
import { channelJson } from './sim-model.js';
import { notFound, SimError } from './sim-error.js';
import type { SimState } from './sim-state.js';
import { asteriskInfo } from './asterisk-info.js';

export interface RestResult {
  status: number;
  body?: unknown;
  /** Events that Asterisk sends after its reply (answer, hangup, bridge delete). */
  after?: () => void;
}

const NO_CONTENT: RestResult = { status: 204 };

function invalidMethod(): SimError {
  return new SimError(405, 'Invalid method');
}

export async function routeRest(
  state: SimState,
  method: string,
  segments: string[],
  params: Record<string, string>,
): Promise<RestResult> {
  const [resource, id, action, ...rest] = segments;
  if (rest.length > 0) throw notFound.resource();
  if (resource === 'channels') return routeChannels(state, method, id, action, params);
  if (resource === 'bridges') return routeBridges(state, method, id, action, params);
  if (resource === 'asterisk' && id === 'info' && action === undefined) {
    if (method !== 'GET') throw invalidMethod();
    return { status: 200, body: asteriskInfo(state) };
  }
  throw notFound.resource();
}

async function routeChannels(
  state: SimState,
  method: string,
  id: string | undefined,
  action: string | undefined,
  params: Record<string, string>,
): Promise<RestResult> {
  if (id === undefined) {
    if (method !== 'GET') throw invalidMethod();
    return { status: 200, body: [...state.channels.values()].map((c) => channelJson(c)) };
  }
  if (id === 'externalMedia' && action === undefined) {
    if (method !== 'POST') throw invalidMethod();
    return createExternalMedia(state, params);
  }
  if (action === undefined) {
    if (method === 'GET') return { status: 200, body: channelJson(getChannel(state, id)) };
    if (method === 'DELETE') {
      // A chan_websocket channel being connected cannot be hung up until that ends (server-silent.json).
      await state.websocket.stall.settled(id);
      return { ...NO_CONTENT, after: deleteChannel(state, id, params) };
    }
    throw invalidMethod();
  }
  if (action === 'answer' || action === 'continue') {
    if (method !== 'POST') throw invalidMethod();
    const after = action === 'answer' ? answerChannel(state, id) : continueChannel(state, id);
    return { ...NO_CONTENT, after };
  }
  throw notFound.resource();
}

function routeBridges(
  state: SimState,
  method: string,
  id: string | undefined,
  action: string | undefined,
  params: Record<string, string>,
): RestResult {
  if (id === undefined) {
    if (method === 'GET') return { status: 200, body: [...state.bridges.values()].map(bridgeJson) };
    if (method === 'POST') return { status: 200, body: bridgeJson(createBridge(state, params, undefined)) };
    throw invalidMethod();
  }
  if (action === undefined) {
    if (method === 'GET') return { status: 200, body: bridgeJson(findBridge(state, id)) };
    if (method === 'POST') return { status: 200, body: bridgeJson(createBridge(state, params, id)) };
    if (method === 'DELETE') return { ...NO_CONTENT, after: destroyBridge(state, id) };
    throw invalidMethod();
  }
  if (action === 'addChannel' || action === 'removeChannel') {
    if (method !== 'POST') throw invalidMethod();
    if (action === 'addChannel') addChannels(state, id, params.channel);
    else removeChannels(state, id, params.channel);
    return NO_CONTENT;
  }
  throw notFound.resource();
}
