import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { MeshClient, MeshObserver, NotFoundError, type InvocationRecord, type InvocationStory, type ResponseMessage } from '@taskmesh/client';
import { followForever } from '../live/follow.js';
import { LiveHub } from '../live/live-hub.js';
import { LIST_WINDOW, paginate, type InvocationQuery, type Page } from './invocation-query.js';
import { buildTree, displayState, MAX_TREE_DEPTH, MAX_TREE_NODES, rootOf, type TreeNode, type TreeRecord } from './invocation-tree.js';
import { currentState, lastProgress, stateHistory, type HistoryEntry, type HistoryEvent } from './state-history.js';

/** How long a detail waits for an unfinished invocation's events (a finished one's end at its final event). */
export const HISTORY_BUDGET_MS = 1_500;

/** How often, and how long apart, a detail reads a record that is behind a final event. */
const RECORD_CATCH_UP_TRIES = 5;
const RECORD_CATCH_UP_MS = 200;

const isFinal = (state: string): boolean => state === 'SUCCESS' || state === 'FAILURE';

/** A row of the invocations list. */
export interface InvocationRow {
  id: string;
  task: string;
  state: string;
  attempts: number;
  worker?: string;
  key?: string;
  parentId?: string;
  createdAt: string;
  finishedAt?: string;
}

/** What the detail panel shows. */
export interface InvocationDetail {
  invocation: InvocationRecord;
  state: string;
  history: HistoryEntry[];
  progress?: unknown;
  tree: TreeNode;
}

/** The invocations view: filtered pages, a detail with history and tree, cancel, and every state change pushed live. */
@Injectable()
export class InvocationsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly log = new Logger('Invocations');
  private readonly stop = new AbortController();

  constructor(
    private readonly client: MeshClient,
    private readonly observer: MeshObserver,
    private readonly hub: LiveHub,
  ) {}

  onApplicationBootstrap(): void {
    void followForever('invocation events', (signal) => this.observer.invocationEvents({ signal }), (e) => this.hub.publish('invocation', liveEvent(e)), this.stop.signal, this.log);
  }

  onApplicationShutdown(): void {
    this.stop.abort();
  }

  async page(query: InvocationQuery): Promise<Page<InvocationRow>> {
    const records = await this.client.list({
      limit: LIST_WINDOW, ...(query.task ? { task: query.task } : {}), ...(query.state ? { state: query.state } : {}), ...(query.key ? { key: query.key } : {}),
      ...(query.from === undefined ? {} : { from: new Date(query.from) }), ...(query.to === undefined ? {} : { to: new Date(query.to) }),
    });
    const page = paginate(records, query.page, query.size, records.length >= LIST_WINDOW);
    return { ...page, items: page.items.map(row) };
  }

  async detail(id: string): Promise<InvocationDetail> {
    let invocation = await this.client.get(id);
    const [events, tree] = await Promise.all([this.events(id), this.tree(invocation)]);
    // A final event the record does not have yet: the orchestrator writes it within moments; wait for it (bounded),
    // so the history gets the outcome's time and the record its result.
    for (let i = 0; i < RECORD_CATCH_UP_TRIES && isFinal(currentState(invocation, events).state) && !isFinal(invocation.state); i++) {
      await new Promise((resolve) => setTimeout(resolve, RECORD_CATCH_UP_MS));
      invocation = await this.client.get(id);
    }
    const progress = lastProgress(events);
    return { invocation, state: displayState(currentState(invocation, events)), history: stateHistory(invocation, events), ...(progress === undefined ? {} : { progress }), tree };
  }

  story(id: string): Promise<InvocationStory> {
    return this.client.story(id);
  }

  cancel(id: string): Promise<ResponseMessage> {
    return this.client.cancel(id);
  }

  /** The invocation's events from the stream, up to its final one or HISTORY_BUDGET_MS. */
  private async events(id: string): Promise<HistoryEvent[]> {
    const out: HistoryEvent[] = [];
    const budget = AbortSignal.timeout(HISTORY_BUDGET_MS);
    try {
      for await (const e of this.client.events(id, { signal: budget })) out.push(historyEvent(e));
    } catch (err) {
      if (!(err instanceof NotFoundError)) this.log.warn({ msg: 'cannot read the events of an invocation', id, reason: (err as Error).message });
    }
    return out;
  }

  /** Reads the ancestors (up to the root) and the descendants (breadth first, bounded), then builds the tree. */
  private async tree(start: InvocationRecord): Promise<TreeNode> {
    const records = new Map<string, TreeRecord>([[start.id, start]]);
    let at: InvocationRecord | undefined = start;
    for (let depth = 0; at?.parentId !== undefined && depth < MAX_TREE_DEPTH && !records.has(at.parentId); depth++) {
      at = await this.recordOrNothing(at.parentId);
      if (at !== undefined) records.set(at.id, at);
    }
    const root = rootOf(start.id, records);
    let level = [root];
    while (level.length > 0 && records.size < MAX_TREE_NODES) {
      const wanted = level.flatMap((id) => records.get(id)?.children ?? []).filter((id) => !records.has(id)).slice(0, MAX_TREE_NODES - records.size);
      const read = await Promise.all(wanted.map((id) => this.recordOrNothing(id)));
      for (const r of read) if (r !== undefined) records.set(r.id, r);
      level = read.flatMap((r) => (r === undefined ? [] : [r.id]));
    }
    return buildTree(root, records);
  }

  private async recordOrNothing(id: string): Promise<InvocationRecord | undefined> {
    try {
      return await this.client.get(id);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }
}

function row(r: InvocationRecord): InvocationRow {
  return {
    id: r.id, task: r.task, state: displayState(r), attempts: r.attempts, createdAt: r.createdAt,
    ...(r.worker ? { worker: r.worker } : {}), ...(r.key ? { key: r.key } : {}), ...(r.parentId ? { parentId: r.parentId } : {}), ...(r.finishedAt ? { finishedAt: r.finishedAt } : {}),
  };
}

function historyEvent(e: ResponseMessage): HistoryEvent {
  const failure = e.failure;
  const event = e.event;
  return {
    state: e.state,
    ...(e.at ? { at: e.at } : {}), ...(e.attempt ? { attempt: e.attempt } : {}), ...(e.worker ? { worker: e.worker } : {}),
    ...(event ? { eventType: event.eventType, ...(event.details === undefined ? {} : { details: event.details }) } : {}),
    ...(failure ? { failure: { code: failure.code, message: failure.message } } : {}),
  };
}

/** An invocation event as the page reads it (`invocation` live event). */
function liveEvent(e: ResponseMessage): HistoryEvent & { id?: string; display: string } {
  return { id: e.id, ...historyEvent(e), display: e.state === 'FAILURE' && e.failure?.code === 'CANCELLED' ? 'CANCELLED' : e.state };
}
