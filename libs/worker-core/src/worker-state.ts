import { concurrencyKey, FailureCode, Failure, InvalidMessageError, RequestMessage, ResponseMessage, type JsonValue, type TaskConcurrency } from '@taskmesh/protocol';
import type { Execute, Instruction } from './instructions.js';
import { planPulls, type PlannedPull } from './pull-planner.js';
import { retryDelay, type RetryPolicy } from './retry-policy.js';
import { ShardPulls } from './shard-pulls.js';
import type { Stimulus } from './stimuli.js';
import { DEFAULT_LOG_SIZE, StimulusLog, type StoryEntry } from './stimulus-log.js';

/** How long a probe (a cold task's one-slot pull) waits at the server before its slot goes to the next task. */
export const PROBE_EXPIRES_MS = 500;
/** First wait before asking again for a running claim held by another invocation; doubles up to the max. */
export const CLAIM_RETRY_MS = 50;
export const MAX_CLAIM_RETRY_MS = 1000;

/** How the core behaves; everything time-related is in milliseconds of the dispatcher's monotonic clock. */
export interface WorkerCoreConfig {
  /** Named in every event and outcome this worker reports. */
  workerId: string;
  /** Tasks that run at once; also the most messages the worker may hold. */
  capacity: number;
  /** The tasks hosted here, with their own run-time limit, retry policy and concurrency controls. */
  tasks: Record<string, { timeoutMs?: number; retry?: RetryPolicy; concurrency?: TaskConcurrency }>;
  /** Send an in-progress ack this often for every held message (well within ack_wait). */
  inProgressEveryMs: number;
  /** How long one pull waits at the server for messages; its reservations are held that long at most. */
  pullExpiresMs: number;
  /** Re-pull for a task with a pull outstanding only for at least this many slots. */
  minRepullBatch?: number;
  /** Bound on the pulls open at once for one task (each is a waiting request at the server). */
  maxPullsPerTask?: number;
  /** A message whose outcome could not be recorded is handed back with this delay. */
  nakAfterStoreFailureMs?: number;
  /** Stimuli kept for story(). */
  logSize?: number;
  /** JetStream's max_deliver for work: a retry is only scheduled while another delivery is possible. */
  maxDeliver?: number;
  /** Cancelled ids remembered for work not received yet. */
  maxCancelled?: number;
  /**
   * Tasks waiting for their child calls without holding a slot, at most (default 4 x capacity); beyond it a
   * waiting task keeps its slot. Each one holds its message (and its in-progress acks) while it waits.
   */
  maxWaitingParents?: number;
  /** Messages waiting for a running claim, at most (default 4 x capacity); beyond it such tasks are not pulled. */
  maxClaiming?: number;
  /** Direct requests received and not started yet, at most (default 4 x capacity); past it they are refused OVERLOADED. */
  maxDirectQueued?: number;
}

/**
 * Where a held message is. Only `running` and `storing` occupy one of the `capacity` slots:
 * - `claiming`: waiting for its running-concurrency claim (another invocation of the same scope runs);
 * - `queued`: may go on and waits for a free slot, to start (`start` set) or to resume after its child calls;
 * - `running`: its handler runs;
 * - `blocked`: its handler waits for child calls (the slot is free for them: pynenc's blocking control);
 * - `storing`: its outcome is decided and being recorded;
 * - `parked`: keyed work of a task not hosted here: it keeps its place in its shard (nothing later of its key runs)
 *   until the shard moves to another worker (handed back) or its deadline passes (TIMEOUT).
 */
type Phase = 'claiming' | 'queued' | 'running' | 'blocked' | 'storing' | 'parked';

/** A message this worker holds, from receipt until it is settled. */
interface Held {
  ref: number;
  invocationId: string;
  task: string;
  attempt: number;
  /** Attempts of the invocation before this message: those before its redrive (the retry policy counts from here). */
  attemptsBefore: number;
  replyTo?: string;
  phase: Phase;
  nextKeepAliveAt: number;
  timeoutAt?: number;
  /** How the message is settled once the outcome is recorded. */
  settle: 'ack' | 'term';
  /**
   * A direct request (no JetStream message): it is answered on `replyTo` (RUNNING at its start, then its outcome),
   * never stored, acked or retried, and with a `key` it runs after the earlier direct requests of that key here.
   */
  direct?: { key?: string };
  response?: ResponseMessage;
  /** Until it first starts: the execute to perform then. */
  start?: Execute;
  /** The task's run-time limit (timeoutMs), counted from the start. */
  limitMs?: number;
  /** Monotonic instant of the request's deadline: not started by then, never started. */
  startBy?: number;
  /** Its running-concurrency key, when its task declares one. */
  runKey?: string;
  /** Whether it holds `runKey` (to release once its outcome is recorded). */
  claimed: boolean;
  /** When to ask for the claim again (undefined while an answer is awaited). */
  nextClaimAt?: number;
  claimDelayMs: number;
  /** Child calls it waits for. */
  children: number;
  /** The key shard it came from (keyed work). */
  shard?: number;
}

/**
 * The worker's pure state machine (dask WorkerState): `handle(...stimuli) -> instructions`. No I/O, no clock, no
 * timers; it never throws (an internal error becomes a log instruction and the state stays consistent).
 *
 * Invariants: reserved (slots promised to outstanding pulls) + held <= capacity, so the worker never holds more
 * messages than it can run; every valid message received is settled exactly once (ack, nak or term), and its
 * outcome is recorded before it is acked.
 */
export class WorkerState {
  private readonly pulls = new Map<number, { task: string; reserved: number; delivered: number }>();
  /** Pulls open per task (the planner's `outstanding`), kept as pulls open and end. */
  private readonly pullsPerTask = new Map<string, number>();
  /** Pulls of the key shards owned here (keyed work), outside the slot reservations. */
  private readonly shardPulls = new ShardPulls();
  /** Tasks whose pulls recently delivered work: they get the free slots beyond one-slot probes. */
  private readonly hot = new Set<string>();
  private readonly held = new Map<number, Held>();
  /** Held messages per phase, kept as phases change (`busy` and the claim bound are read after every stimulus). */
  private readonly phases: Record<Phase, number> = { claiming: 0, queued: 0, running: 0, blocked: 0, storing: 0, parked: 0 };
  /** Child calls made from here and not answered yet, by task: their work is pulled first. */
  private readonly awaited = new Map<string, number>();
  /** Refs in phase `queued`, in arrival order (tasks resuming after child calls go first). */
  private readonly slotQueue: number[] = [];
  private readonly byInvocation = new Map<string, number>();
  /** Ids cancelled while not running here: if their work arrives, it is never started. Bounded (oldest go). */
  private readonly cancelled = new Set<string>();
  private readonly taskNames: string[];
  private readonly minRepullBatch: number;
  private readonly maxPullsPerTask: number;
  private readonly nakAfterStoreFailureMs: number;
  private readonly maxWaitingParents: number;
  private readonly maxClaiming: number;
  private readonly maxDirectQueued: number;
  private readonly log: StimulusLog;
  private nextPullId = 1;
  private rotation = 0;
  private isDraining = false;
  private drainedSent = false;
  private scheduledTick: number | null = null;

  constructor(private readonly config: WorkerCoreConfig) {
    this.taskNames = Object.keys(config.tasks).sort();
    this.minRepullBatch = config.minRepullBatch ?? 4;
    this.maxPullsPerTask = config.maxPullsPerTask ?? 4;
    this.nakAfterStoreFailureMs = config.nakAfterStoreFailureMs ?? 1000;
    this.maxWaitingParents = config.maxWaitingParents ?? 4 * config.capacity;
    this.maxClaiming = config.maxClaiming ?? 4 * config.capacity;
    this.maxDirectQueued = config.maxDirectQueued ?? 4 * config.capacity;
    this.log = new StimulusLog(config.logSize ?? DEFAULT_LOG_SIZE);
  }

  /** Messages held now (in any phase: waiting for a claim or a slot, running, waiting for children, recording). */
  get inflight(): number {
    return this.held.size;
  }

  /** Slots occupied: tasks running, and outcomes being recorded. Never more than capacity. */
  get busy(): number {
    return this.phases.running + this.phases.storing;
  }

  /** Held messages in `phase`. */
  count(phase: Phase): number {
    return this.phases[phase];
  }

  /** Slots promised to outstanding pulls. */
  get reserved(): number {
    let n = 0;
    for (const p of this.pulls.values()) n += p.reserved;
    return n;
  }

  /** Tasks run at once at most (the configured concurrency). */
  get capacity(): number {
    return this.config.capacity;
  }

  /** The task names hosted here, sorted. */
  get tasks(): readonly string[] {
    return this.taskNames;
  }

  /** Slots neither occupied, nor wanted by queued work, nor promised to a pull: what the next pulls may ask for. */
  get freeSlots(): number {
    // Direct requests held back behind an earlier one of their key cannot take a slot now: they do not count.
    let waiting = 0;
    for (const ref of this.slotQueue) if (!this.keyBusy(this.held.get(ref))) waiting += 1;
    return this.config.capacity - this.busy - waiting - this.reserved;
  }

  /** A drain was requested: no more pulls. */
  get draining(): boolean {
    return this.isDraining;
  }

  /** Pulls issued and not ended yet (task and shard pulls). */
  get outstandingPulls(): number {
    return this.pulls.size + this.shardPulls.size;
  }

  /** The key shards this worker pulls, sorted. */
  get shards(): number[] {
    return this.shardPulls.shards;
  }

  /** The only mutator: feeds stimuli in order, returns what the dispatcher must do. Never throws. */
  handle(...stimuli: Stimulus[]): Instruction[] {
    const all: Instruction[] = [];
    for (const s of stimuli) {
      const out: Instruction[] = [];
      // The invocations it touched, for story(): one or two, so a list, not a Set.
      const touched: string[] = [];
      // Before apply: settling a message forgets which invocation its ref belonged to.
      if ('ref' in s) {
        const h = this.held.get(s.ref);
        if (h) touch(touched, h.invocationId);
      }
      if ('invocationId' in s) touch(touched, s.invocationId);
      try {
        this.apply(s, out, touched);
      } catch (err) {
        this.contain(s, err, out);
      }
      try {
        // Separately guarded: pulls and the timer must be recomputed even after a failed stimulus.
        this.afterStimulus(s, out);
      } catch (err) {
        out.push({ type: 'log', stimulusId: s.stimulusId, level: 'error', message: 'worker core error (planning)', fields: { stimulus: s.type, err: String(err) } });
      }
      for (const ins of out) {
        if ('invocationId' in ins && typeof ins.invocationId === 'string') touch(touched, ins.invocationId);
        if ('ref' in ins) {
          const h = this.held.get(ins.ref);
          if (h) touch(touched, h.invocationId);
        }
      }
      this.log.record(s, out, touched);
      if (stimuli.length === 1) return out;
      for (const ins of out) all.push(ins);
    }
    return all;
  }

  /** Everything the core saw and did about one invocation, oldest first (bounded by logSize). */
  story(invocationId: string): StoryEntry[] {
    return this.log.story(invocationId);
  }

  private apply(s: Stimulus, out: Instruction[], touched: string[]): void {
    const id = s.stimulusId;
    switch (s.type) {
      case 'start':
        return;
      case 'work-received':
        return this.received(s, out, touched);
      case 'direct-received':
        return this.directReceived(s, out, touched);
      case 'pull-ended': {
        if (this.shardPulls.ended(s.pullId)) return;
        const pull = this.pulls.get(s.pullId);
        this.pulls.delete(s.pullId);
        if (pull) {
          const left = (this.pullsPerTask.get(pull.task) ?? 1) - 1;
          if (left > 0) this.pullsPerTask.set(pull.task, left);
          else this.pullsPerTask.delete(pull.task);
        }
        // A pull that ran its whole expiry without a message: the task has gone quiet.
        if (pull && pull.delivered === 0) this.hot.delete(pull.task);
        return;
      }
      case 'tick':
        // The timer that fired is gone: whatever is due next needs a new one, even the same instant (a timer may
        // fire a fraction of a millisecond before the instant it was set for).
        this.scheduledTick = null;
        return this.tick(s.at, id, out);
      case 'task-progress': {
        const h = this.held.get(s.ref);
        // A direct call leaves no trace in any stream: its progress is not published.
        if (!h || !isActive(h) || h.direct) return;
        let response: ResponseMessage;
        try {
          response = ResponseMessage.event(h.invocationId, 'progress', s.details, this.meta(h));
        } catch (err) {
          // Progress is advisory: a report that cannot travel is dropped, the task goes on.
          out.push({ type: 'log', stimulusId: id, level: 'warn', message: 'progress details cannot be sent as JSON; dropped', fields: { invocationId: h.invocationId, err: String(err) } });
          return;
        }
        out.push({ type: 'publish-event', stimulusId: id, ref: h.ref, invocationId: h.invocationId, response });
        return;
      }
      case 'task-finished': {
        const h = this.held.get(s.ref);
        if (!h || !isActive(h)) {
          out.push({ type: 'log', stimulusId: id, level: 'debug', message: 'late task outcome ignored (already decided)', fields: { ref: s.ref } });
          return;
        }
        // A direct call is not retried here: its caller gets the failure (with `retryable`) at once.
        if (!s.outcome.ok && s.outcome.failure.retryable && !h.direct) {
          const policy = this.config.tasks[h.task]?.retry;
          const lastAttempt = Math.min(policy?.maxAttempts ?? 1, this.config.maxDeliver ?? Infinity);
          // Counted from the redrive, if there was one: a redriven invocation gets its retries again.
          const delayMs = retryDelay(policy && { ...policy, maxAttempts: lastAttempt }, h.attempt - h.attemptsBefore, s.jitter ?? 0.5);
          if (delayMs !== undefined) return this.retry(h, s.outcome.failure, delayMs, id, out);
          // A retryable failure with no attempt left: the work is dead; keep it for a person to look at.
          out.push({ type: 'dead-letter', stimulusId: id, ref: h.ref, task: h.task, reason: `attempts exhausted (${h.attempt}): ${s.outcome.failure.code} ${s.outcome.failure.message}`.slice(0, 1000) });
        }
        return this.decide(h, s.outcome.ok ? this.success(h, s.outcome.result) : ResponseMessage.failure(h.invocationId, s.outcome.failure, this.meta(h)), id, out);
      }
      case 'outcome-stored': {
        const h = this.held.get(s.ref);
        if (h?.phase !== 'storing' || !h.response) return;
        if (h.replyTo) out.push({ type: 'reply', stimulusId: id, replyTo: h.replyTo, response: h.response });
        out.push(h.settle === 'ack' ? { type: 'ack', stimulusId: id, ref: h.ref } : { type: 'term', stimulusId: id, ref: h.ref, reason: h.response.failure?.code ?? 'final' });
        return this.release(h, id, out);
      }
      case 'outcome-store-failed': {
        const h = this.held.get(s.ref);
        if (!h) return;
        // Never ack a result that is not recorded: JetStream redelivers, and a later attempt records it.
        out.push({ type: 'log', stimulusId: id, level: 'error', message: 'could not record the outcome; releasing the work', fields: { invocationId: h.invocationId, error: s.error } });
        out.push({ type: 'nak', stimulusId: id, ref: h.ref, delayMs: this.nakAfterStoreFailureMs });
        return this.release(h, id, out);
      }
      case 'cancel-requested': {
        const ref = this.byInvocation.get(s.invocationId);
        const h = ref === undefined ? undefined : this.held.get(ref);
        if (!h) {
          this.cancelled.add(s.invocationId);
          if (this.cancelled.size > (this.config.maxCancelled ?? 100_000)) this.cancelled.delete(this.cancelled.values().next().value as string);
          return;
        }
        if (h.phase === 'storing') return;
        if (h.start) {
          // Waiting for its claim or a slot: it never started.
          return this.decide(h, ResponseMessage.failure(h.invocationId, failure(FailureCode.CANCELLED, 'cancelled before it started'), this.meta(h)), id, out);
        }
        out.push({ type: 'abort', stimulusId: id, ref: h.ref, reason: 'cancelled', message: 'cancelled' });
        return this.decide(h, ResponseMessage.failure(h.invocationId, failure(FailureCode.CANCELLED, 'cancelled while running'), this.meta(h)), id, out);
      }
      case 'drain-requested':
        this.isDraining = true;
        out.push({ type: 'log', stimulusId: id, level: 'info', message: 'draining', fields: { running: this.held.size } });
        // Work that has not started yet goes back at once: another worker can start it now.
        for (const h of [...this.held.values()]) if (h.start && h.phase !== 'storing') this.handBack(h, 'draining: not started, released to another worker', id, out);
        return;
      case 'drain-deadline-passed':
        this.isDraining = true;
        for (const h of [...this.held.values()]) {
          if (h.phase === 'storing') continue;
          // Hand the work back now so another worker starts it at once, instead of after ack_wait.
          if (!h.start) out.push({ type: 'abort', stimulusId: id, ref: h.ref, reason: 'released', message: 'worker is stopping' });
          this.handBack(h, 'drain timeout: released to another worker', id, out);
        }
        return;
      case 'claim-result': {
        const h = this.held.get(s.ref);
        if (h?.phase !== 'claiming' || h.invocationId !== s.invocationId) {
          // Decided (cancelled, expired) or released while the claim was asked for: do not keep it.
          if (s.claimed) out.push({ type: 'release-claim', stimulusId: id, key: s.key, invocationId: s.invocationId });
          return;
        }
        if (s.claimed) {
          h.claimed = true;
          return this.enqueue(h);
        }
        h.nextClaimAt = s.at + h.claimDelayMs;
        h.claimDelayMs = Math.min(2 * h.claimDelayMs, MAX_CLAIM_RETRY_MS);
        out.push({ type: 'log', stimulusId: id, level: 'debug', message: 'running claim held by another invocation; waiting', fields: { invocationId: h.invocationId, key: s.key, holder: s.holder } });
        return;
      }
      case 'child-call-started': {
        this.awaited.set(s.task, (this.awaited.get(s.task) ?? 0) + 1);
        const h = this.held.get(s.ref);
        if (!h || !isActive(h)) return;
        h.children += 1;
        if (h.phase === 'running' && h.children === 1 && this.count('blocked') < this.maxWaitingParents) {
          // Waiting for its children: its slot is theirs meanwhile (a pool of one still finishes the tree).
          this.setPhase(h, 'blocked');
        }
        return;
      }
      case 'child-call-ended': {
        const left = (this.awaited.get(s.task) ?? 1) - 1;
        if (left > 0) this.awaited.set(s.task, left);
        else this.awaited.delete(s.task);
        const h = this.held.get(s.ref);
        if (!h || !isActive(h) || h.children === 0) return;
        h.children -= 1;
        if (h.children > 0) return;
        if (h.phase === 'blocked') return this.enqueue(h);
        out.push({ type: 'resume', stimulusId: id, ref: h.ref });
        return;
      }
      case 'shards-owned':
        // A parked message of a shard that moved goes to its new owner (it is redelivered before the shard's next).
        for (const shard of this.shardPulls.own(s.shards)) {
          for (const h of [...this.held.values()]) if (h.phase === 'parked' && h.shard === shard) this.handBack(h, 'key shard moved: keyed work of a task not hosted here handed to its new owner', id, out);
        }
        out.push({ type: 'log', stimulusId: id, level: 'info', message: 'key shards owned', fields: { shards: this.shardPulls.shards } });
        return;
      default: {
        const never: never = s;
        throw new Error(`unknown stimulus ${JSON.stringify(never)}`);
      }
    }
  }

  private received(s: Extract<Stimulus, { type: 'work-received' }>, out: Instruction[], touched: string[]): void {
    const id = s.stimulusId;
    if (this.held.has(s.ref)) {
      // The dispatcher reused a handle it still holds: settling this one would settle the other. Leave it to
      // ack_wait rather than corrupt the count of held messages.
      out.push({ type: 'log', stimulusId: id, level: 'error', message: 'delivery with a ref already held ignored', fields: { ref: s.ref, pullId: s.pullId } });
      return;
    }
    const pull = this.pulls.get(s.pullId);
    if (pull) {
      pull.reserved = Math.max(0, pull.reserved - 1);
      pull.delivered += 1;
      this.hot.add(pull.task);
    }
    const shard = this.shardPulls.shardOf(s.pullId);
    if (this.isDraining || (!pull && shard === undefined)) {
      // Not asked for (any more): hand it straight back.
      out.push({ type: 'nak', stimulusId: id, ref: s.ref, delayMs: 0 });
      return;
    }
    const read = readRequest(s.data);
    if ('problems' in read) {
      // Never executed; answered if it can be, counted, logged, and removed from the queue.
      const { problems, message } = read;
      out.push({ type: 'count-invalid', stimulusId: id, kind: 'REQUEST' });
      out.push({ type: 'log', stimulusId: id, level: 'warn', message: 'invalid REQUEST terminated', fields: { ref: s.ref, problems } });
      if (s.replyTo) {
        out.push({ type: 'reply', stimulusId: id, replyTo: s.replyTo, response: ResponseMessage.failure(undefined, failure(FailureCode.BAD_REQUEST, message, { problems: [...problems] })) });
      }
      out.push({ type: 'dead-letter', stimulusId: id, ref: s.ref, task: 'invalid', reason: `invalid request: ${problems.join('; ')}`.slice(0, 1000) });
      out.push({ type: 'term', stimulusId: id, ref: s.ref, reason: 'invalid request' });
      return;
    }
    const request = read.request;
    // Redriven work numbers its attempts on from the invocation's last, and is carried to its outcome past its
    // deadline (an operator asked for it to run).
    const before = s.redrivenAfter ?? 0;
    this.admit(s, request, { attempt: before + s.deliveryCount, attemptsBefore: before, replyTo: s.replyTo, shard, startedBefore: s.startedBefore || s.redrivenAfter !== undefined }, out, touched);
  }

  /**
   * A direct request (taskflow's worker-based protocol): validated at the edge like pulled work, bounded, and then
   * held like it. Every request with a reply subject is answered: a refusal at once, or RUNNING and the outcome.
   */
  private directReceived(s: Extract<Stimulus, { type: 'direct-received' }>, out: Instruction[], touched: string[]): void {
    const id = s.stimulusId;
    const refuse = (invocationId: string | undefined, code: FailureCode, message: string, details?: Record<string, JsonValue>): void => {
      out.push({ type: 'log', stimulusId: id, level: code === FailureCode.BAD_REQUEST ? 'warn' : 'debug', message: `direct request refused: ${message}`, fields: { invocationId, code } });
      if (s.replyTo) out.push({ type: 'reply', stimulusId: id, replyTo: s.replyTo, response: ResponseMessage.failure(invocationId, failure(code, message, details), { attempt: s.attempt, worker: this.config.workerId }) });
    };
    if (this.held.has(s.ref)) {
      out.push({ type: 'log', stimulusId: id, level: 'error', message: 'direct request with a ref already held ignored', fields: { ref: s.ref } });
      return;
    }
    const read = readRequest(s.data);
    if ('problems' in read) {
      // Never executed; answered, counted and logged (it came from no stream, so there is nothing to dead-letter).
      out.push({ type: 'count-invalid', stimulusId: id, kind: 'REQUEST' });
      return refuse(undefined, FailureCode.BAD_REQUEST, read.message, { problems: [...read.problems] });
    }
    const request = read.request;
    touch(touched, request.id);
    if (!s.replyTo) {
      // Nobody could learn its outcome: a direct request always comes from a router with a reply subject.
      out.push({ type: 'count-invalid', stimulusId: id, kind: 'REQUEST' });
      out.push({ type: 'log', stimulusId: id, level: 'warn', message: 'direct request without a reply subject dropped', fields: { invocationId: request.id } });
      return;
    }
    if (this.isDraining) return refuse(request.id, FailureCode.OVERLOADED, `worker ${this.config.workerId} is stopping; not started`);
    let waiting = 0;
    for (const h of this.held.values()) if (h.direct && h.start) waiting += 1;
    const startsNow = this.slotQueue.length === 0 && this.busy < this.config.capacity;
    if (!startsNow && waiting >= this.maxDirectQueued) {
      return refuse(request.id, FailureCode.OVERLOADED, `worker ${this.config.workerId} has ${waiting} direct requests waiting (its bound); not started`);
    }
    this.admit(s, request, { attempt: s.attempt, replyTo: s.replyTo, direct: { ...(request.key === undefined ? {} : { key: request.key }) } }, out, touched);
  }

  /** Holds a valid request until it is settled: refused (unknown task, past its deadline, cancelled) or started when its claim and a slot allow. */
  private admit(
    s: Extract<Stimulus, { type: 'work-received' | 'direct-received' }>,
    request: RequestMessage,
    how: { attempt: number; attemptsBefore?: number; replyTo?: string; shard?: number; startedBefore?: boolean; direct?: { key?: string } },
    out: Instruction[],
    touched: string[],
  ): void {
    const id = s.stimulusId;
    touch(touched, request.id);
    const spec = this.config.tasks[request.task];
    const h: Held = {
      ref: s.ref, invocationId: request.id, task: request.task, attempt: how.attempt, attemptsBefore: how.attemptsBefore ?? 0, replyTo: how.replyTo,
      // Direct requests have no ack wait to keep alive.
      phase: 'queued', nextKeepAliveAt: how.direct ? Infinity : s.at + this.config.inProgressEveryMs, settle: 'ack',
      startBy: how.startedBefore ? undefined : s.at + (request.deadline - s.wallNow), claimed: false, claimDelayMs: CLAIM_RETRY_MS, children: 0, limitMs: spec?.timeoutMs, shard: how.shard,
      ...(how.direct ? { direct: how.direct } : {}),
    };
    this.held.set(h.ref, h);
    this.phases[h.phase] += 1;
    this.byInvocation.set(h.invocationId, h.ref);
    // Keyed work of a task not hosted here is parked below (after the deadline and cancel checks), never failed:
    // another worker of the pool may host it, and failing it would let the key's next invocation run first.
    if (!spec && h.shard === undefined) {
      if (!h.direct) {
        h.settle = 'term';
        out.push({ type: 'dead-letter', stimulusId: id, ref: h.ref, task: h.task, reason: `task not hosted by ${this.config.workerId}` });
      }
      return this.decide(h, ResponseMessage.failure(h.invocationId, failure(FailureCode.UNKNOWN_TASK, `worker ${this.config.workerId} does not offer ${request.task}`), this.meta(h)), id, out);
    }
    if (s.wallNow > request.deadline && !how.startedBefore) {
      // Work not started by its deadline is never started (work that started is carried to its outcome).
      return this.decide(h, ResponseMessage.failure(h.invocationId, failure(FailureCode.TIMEOUT, `not started before its deadline ${new Date(request.deadline).toISOString()}`), this.meta(h)), id, out);
    }
    if (this.cancelled.has(request.id)) {
      // Cancelled while it waited in the queue: never started.
      return this.decide(h, ResponseMessage.failure(h.invocationId, failure(FailureCode.CANCELLED, 'cancelled before it started'), this.meta(h)), id, out);
    }
    const args = (request.args ?? null) as JsonValue;
    h.start = {
      type: 'execute', stimulusId: id, ref: h.ref, invocationId: h.invocationId, task: h.task, args, attempt: h.attempt,
      ...(request.key === undefined ? {} : { key: request.key }), ...(h.shard === undefined ? {} : { shard: h.shard }), ...(request.parentId === undefined ? {} : { parentId: request.parentId }),
      ...(request.chain === undefined ? {} : { chain: request.chain }), ...(request.dispatch === undefined ? {} : { dispatch: request.dispatch }),
    };
    if (!spec) return this.park(h, id, out);
    h.runKey = concurrencyKey('run', h.task, args, spec.concurrency);
    if (h.runKey !== undefined) {
      // One at a time in its scope: claim first; it waits holding no slot while another one runs.
      this.setPhase(h, 'claiming');
      h.nextClaimAt = undefined;
      out.push({ type: 'claim', stimulusId: id, ref: h.ref, key: h.runKey, invocationId: h.invocationId, attempt: h.attempt });
      return;
    }
    if (this.slotQueue.length === 0 && this.busy < this.config.capacity && !this.keyBusy(h)) return this.begin(h, s.at, id, out);
    this.enqueue(h);
  }

  /** Whether a direct request with a key must wait: another direct request of the same key started and is not done. */
  private keyBusy(h: Held | undefined): boolean {
    const key = h?.direct?.key;
    if (key === undefined) return false;
    for (const other of this.held.values()) if (other !== h && other.direct?.key === key && other.start === undefined) return true;
    return false;
  }

  /**
   * Keyed work of a task not hosted here keeps its place in its shard (in-progress acks) until the shard moves
   * (`shards-owned`) or its deadline passes. One delivered by a pull of a shard that has moved meanwhile goes back
   * at once: its new owner gets it before the shard's next message.
   */
  private park(h: Held, id: string, out: Instruction[]): void {
    if (h.shard === undefined || !this.shardPulls.owns(h.shard)) {
      return this.handBack(h, 'keyed work of a task not hosted here, from a shard no longer owned: handed back', id, out);
    }
    this.setPhase(h, 'parked');
    out.push({ type: 'log', stimulusId: id, level: 'warn', message: 'keyed work of a task not hosted here: parked until its shard moves or its deadline passes', fields: { invocationId: h.invocationId, task: h.task, shard: h.shard } });
  }

  /** Waits for a slot (granted after every stimulus, tasks resuming after child calls first). */
  private enqueue(h: Held): void {
    this.setPhase(h, 'queued');
    this.slotQueue.push(h.ref);
  }

  /** Gives free slots to queued work: resuming tasks first, then the oldest waiting to start. */
  private grant(at: number, id: string, out: Instruction[]): void {
    while (this.slotQueue.length > 0 && this.busy < this.config.capacity) {
      let pick = this.slotQueue.findIndex((ref) => this.held.get(ref)?.start === undefined);
      // A direct request waits for the direct requests of its key that started before it (one at a time, in order).
      if (pick === -1) pick = this.slotQueue.findIndex((ref) => !this.keyBusy(this.held.get(ref)));
      if (pick === -1) break;
      const [ref] = this.slotQueue.splice(pick, 1);
      const h = this.held.get(ref);
      if (h?.phase !== 'queued') continue;
      if (h.start) {
        this.begin(h, at, id, out);
      } else {
        this.setPhase(h, 'running');
        out.push({ type: 'resume', stimulusId: id, ref: h.ref });
      }
    }
  }

  /** Starts the handler: RUNNING, and the task's run-time limit from now. */
  private begin(h: Held, at: number, id: string, out: Instruction[]): void {
    const exec = h.start;
    if (!exec) return;
    if (h.direct && h.startBy !== undefined && at >= h.startBy) {
      // A slot came free after the deadline, before the timer said so: its router has answered TIMEOUT already.
      return this.decide(h, ResponseMessage.failure(h.invocationId, failure(FailureCode.TIMEOUT, 'not started before its deadline (waited for a slot)'), this.meta(h)), id, out);
    }
    h.start = undefined;
    this.setPhase(h, 'running');
    h.timeoutAt = h.limitMs === undefined ? undefined : at + h.limitMs;
    const running = ResponseMessage.state(h.invocationId, 'RUNNING', this.meta(h));
    // A direct request's pickup report goes to its router only (no stream); it precedes any outcome on that subject.
    if (!h.direct) out.push({ type: 'publish-event', stimulusId: id, ref: h.ref, invocationId: h.invocationId, response: running });
    else if (h.replyTo) out.push({ type: 'reply', stimulusId: id, replyTo: h.replyTo, response: running });
    out.push({ ...exec, stimulusId: id, ...(h.timeoutAt === undefined ? {} : { deadlineAt: h.timeoutAt }) });
  }

  /** Hands a message back to JetStream at once (draining); a handler still running was aborted by the caller. */
  private handBack(h: Held, message: string, id: string, out: Instruction[]): void {
    if (h.direct) {
      // Nothing to hand back to: tell the router. Not started: it places the call elsewhere; started: it is lost.
      const code = h.start ? FailureCode.OVERLOADED : FailureCode.WORKER_LOST;
      if (h.replyTo) out.push({ type: 'reply', stimulusId: id, replyTo: h.replyTo, response: ResponseMessage.failure(h.invocationId, failure(code, message), this.meta(h)) });
      out.push({ type: 'log', stimulusId: id, level: 'warn', message, fields: { invocationId: h.invocationId, direct: true } });
      return this.release(h, id, out);
    }
    out.push({ type: 'nak', stimulusId: id, ref: h.ref, delayMs: 0 });
    out.push({ type: 'log', stimulusId: id, level: 'warn', message, fields: { invocationId: h.invocationId } });
    this.release(h, id, out);
  }

  private tick(at: number, id: string, out: Instruction[]): void {
    for (const h of [...this.held.values()]) {
      if (h.start && h.phase !== 'storing' && h.startBy !== undefined && at >= h.startBy) {
        // Waited for its claim or a slot past the request's deadline: never started.
        this.decide(h, ResponseMessage.failure(h.invocationId, failure(FailureCode.TIMEOUT, 'not started before its deadline (waited for its running claim or a slot)'), this.meta(h)), id, out);
      } else if (h.phase === 'claiming' && h.nextClaimAt !== undefined && at >= h.nextClaimAt && h.runKey !== undefined) {
        h.nextClaimAt = undefined;
        out.push({ type: 'claim', stimulusId: id, ref: h.ref, key: h.runKey, invocationId: h.invocationId, attempt: h.attempt });
      }
      if (isActive(h) && h.timeoutAt !== undefined && at >= h.timeoutAt) {
        const message = `${h.task} ran longer than its ${h.limitMs} ms timeout`;
        out.push({ type: 'abort', stimulusId: id, ref: h.ref, reason: 'timeout', message });
        this.decide(h, ResponseMessage.failure(h.invocationId, failure(FailureCode.TIMEOUT, message), this.meta(h)), id, out);
      }
      if (this.held.has(h.ref) && at >= h.nextKeepAliveAt) {
        out.push({ type: 'in-progress', stimulusId: id, ref: h.ref });
        h.nextKeepAliveAt = at + this.config.inProgressEveryMs;
      }
    }
  }

  /** A SUCCESS; a result that cannot be sent as JSON (BigInt, cycles, too deep) fails the task instead, for good. */
  private success(h: Held, result: unknown): ResponseMessage {
    try {
      return ResponseMessage.success(h.invocationId, result, this.meta(h));
    } catch (err) {
      const problems = err instanceof InvalidMessageError ? [...err.problems] : [String(err)];
      const f = Failure.create(FailureCode.TASK_FAILED, `${h.task} returned a result that cannot be sent as JSON`, { retryable: false, details: { problems } });
      return ResponseMessage.failure(h.invocationId, f, this.meta(h));
    }
  }

  /**
   * A bug in the core surfaced while handling `s`. Log it, and make sure what `s` was about still ends: a delivery
   * never taken on is handed back, a message left running with nothing to finish it fails with INTERNAL (a running
   * entry whose outcome was lost would otherwise be kept alive by in-progress acks forever).
   */
  private contain(s: Stimulus, err: unknown, out: Instruction[]): void {
    const id = s.stimulusId;
    out.push({ type: 'log', stimulusId: id, level: 'error', message: 'worker core error', fields: { stimulus: s.type, err: String(err) } });
    if (!('ref' in s)) return;
    try {
      const h = this.held.get(s.ref);
      if (s.type === 'work-received' && !h && !out.some((i) => 'ref' in i && i.ref === s.ref && SETTLES.has(i.type))) {
        out.push({ type: 'nak', stimulusId: id, ref: s.ref, delayMs: 0 });
        return;
      }
      if (s.type === 'direct-received' && !h && s.replyTo && !out.some((i) => i.type === 'reply')) {
        const meta = { attempt: s.attempt, worker: this.config.workerId };
        out.push({ type: 'reply', stimulusId: id, replyTo: s.replyTo, response: ResponseMessage.failure(undefined, failure(FailureCode.INTERNAL, 'worker core error'), meta) });
        return;
      }
      const orphaned = s.type === 'task-finished' || ((s.type === 'work-received' || s.type === 'direct-received') && !out.some((i) => i.type === 'execute' && i.ref === s.ref));
      if (h?.phase === 'running' && orphaned) {
        this.decide(h, ResponseMessage.failure(h.invocationId, failure(FailureCode.INTERNAL, 'worker core error'), this.meta(h)), id, out);
      }
    } catch (again) {
      out.push({ type: 'log', stimulusId: id, level: 'error', message: 'worker core error while containing an error', fields: { err: String(again) } });
    }
  }

  /** The attempt's outcome is decided (once): record it; reply and settle when it is recorded. */
  private decide(h: Held, response: ResponseMessage, id: string, out: Instruction[]): void {
    this.unqueue(h);
    if (h.direct) {
      // Nothing to record: the router that placed it is the only one that learns the outcome.
      h.timeoutAt = undefined;
      if (h.replyTo) out.push({ type: 'reply', stimulusId: id, replyTo: h.replyTo, response });
      return this.release(h, id, out);
    }
    this.setPhase(h, 'storing');
    h.response = response;
    h.timeoutAt = undefined;
    out.push({ type: 'store-outcome', stimulusId: id, ref: h.ref, invocationId: h.invocationId, response });
  }

  /**
   * A retryable failure with attempts left: report WAITING (with the failure and the delay) and hand the message
   * back to JetStream with that delay. JetStream keeps it durably; its next delivery is the next attempt.
   */
  private retry(h: Held, failure: Failure, delayMs: number, id: string, out: Instruction[]): void {
    const details = { failure: { code: failure.code, message: failure.message }, retryInMs: delayMs } as JsonValue;
    out.push({ type: 'publish-event', stimulusId: id, ref: h.ref, invocationId: h.invocationId, response: ResponseMessage.event(h.invocationId, 'retry', details, this.meta(h)) });
    out.push({ type: 'publish-event', stimulusId: id, ref: h.ref, invocationId: h.invocationId, response: ResponseMessage.state(h.invocationId, 'WAITING', this.meta(h)) });
    out.push({ type: 'nak', stimulusId: id, ref: h.ref, delayMs });
    out.push({ type: 'log', stimulusId: id, level: 'info', message: 'retry scheduled', fields: { invocationId: h.invocationId, attempt: h.attempt, retryInMs: delayMs, code: failure.code } });
    this.release(h, id, out);
  }

  /** Forgets a settled message, and gives up its running claim (the next one in its scope may run). */
  private release(h: Held, id: string, out: Instruction[]): void {
    this.unqueue(h);
    if (this.held.get(h.ref) === h) {
      this.held.delete(h.ref);
      this.phases[h.phase] -= 1;
    }
    if (this.byInvocation.get(h.invocationId) === h.ref) this.byInvocation.delete(h.invocationId);
    if (h.claimed && h.runKey !== undefined) out.push({ type: 'release-claim', stimulusId: id, key: h.runKey, invocationId: h.invocationId });
    h.claimed = false;
  }

  /** Moves a message to `phase`, keeping the per-phase counts. */
  private setPhase(h: Held, phase: Phase): void {
    if (this.held.get(h.ref) === h) {
      this.phases[h.phase] -= 1;
      this.phases[phase] += 1;
    }
    h.phase = phase;
  }

  private unqueue(h: Held): void {
    const at = this.slotQueue.indexOf(h.ref);
    if (at !== -1) this.slotQueue.splice(at, 1);
  }

  /** After every stimulus: pull for free slots, announce the end of a drain, and (re)schedule the one timer. */
  private afterStimulus(s: Stimulus, out: Instruction[]): void {
    const id = s.stimulusId;
    this.grant(s.at, id, out);
    if (!this.isDraining) {
      const free = this.freeSlots;
      // With no free slot the planner asks for no task pull: skip building its input (most stimuli under load).
      const plan = free > 0 ? this.planTaskPulls(free) : [];
      // Every owned key shard keeps one pull open, whatever the slots (ShardPulls says why).
      for (const shard of this.shardPulls.wanted()) {
        const pullId = this.nextPullId++;
        this.shardPulls.opened(pullId, shard);
        out.push({ type: 'pull-shard', stimulusId: id, pullId, shard, expiresMs: this.config.pullExpiresMs });
      }
      // The next probe goes to the next cold task.
      if (plan.some((p) => p.probe)) this.rotation += 1;
      for (const { task, batch, probe } of plan) {
        const pullId = this.nextPullId++;
        this.pulls.set(pullId, { task, reserved: batch, delivered: 0 });
        this.pullsPerTask.set(task, (this.pullsPerTask.get(task) ?? 0) + 1);
        // A probe gives its slot back soon, so with fewer slots than tasks every task's turn comes quickly.
        const expiresMs = probe ? Math.min(this.config.pullExpiresMs, PROBE_EXPIRES_MS) : this.config.pullExpiresMs;
        out.push({ type: 'pull', stimulusId: id, pullId, task, batch, expiresMs });
      }
    } else if (!this.drainedSent && this.held.size === 0 && this.outstandingPulls === 0) {
      this.drainedSent = true;
      out.push({ type: 'drained', stimulusId: id });
    }
    let due = Infinity;
    for (const h of this.held.values()) {
      if (h.nextKeepAliveAt < due) due = h.nextKeepAliveAt;
      if (h.timeoutAt !== undefined && h.timeoutAt < due) due = h.timeoutAt;
      if (h.nextClaimAt !== undefined && h.nextClaimAt < due) due = h.nextClaimAt;
      if (h.start && h.phase !== 'storing' && h.startBy !== undefined && h.startBy < due) due = h.startBy;
    }
    const next = due === Infinity ? null : due;
    if (next !== this.scheduledTick) {
      this.scheduledTick = next;
      out.push({ type: 'schedule-tick', stimulusId: id, at: next });
    }
  }

  /** The task pulls for `free` slots (planPulls), leaving out the tasks that need a claim once enough wait for one. */
  private planTaskPulls(free: number): PlannedPull[] {
    // Enough work waits for running claims: pull no more of the tasks that need one until some of it runs.
    const claimsFull = this.count('claiming') >= this.maxClaiming;
    const tasks = claimsFull ? this.taskNames.filter((t) => (this.config.tasks[t]?.concurrency?.running ?? 'none') === 'none') : this.taskNames;
    return planPulls({
      tasks, free, outstanding: this.pullsPerTask, hot: this.hot, rotation: this.rotation, awaited: this.awaited,
      minBatch: this.minRepullBatch, maxOutstanding: this.maxPullsPerTask,
    });
  }

  private meta(h: Held): { attempt: number; worker: string } {
    return { attempt: h.attempt, worker: this.config.workerId };
  }

}

/** A handler is running for it (possibly waiting for child calls, or queued to resume after them). */
function isActive(h: Held): boolean {
  return h.phase === 'running' || h.phase === 'blocked' || (h.phase === 'queued' && h.start === undefined);
}

function touch(touched: string[], invocationId: string): void {
  if (!touched.includes(invocationId)) touched.push(invocationId);
}

/** A REQUEST from its bytes, or what was wrong with it (for the answer and the log). */
function readRequest(data: Uint8Array): { request: RequestMessage } | { problems: readonly string[]; message: string } {
  try {
    return { request: RequestMessage.parse(data) };
  } catch (err) {
    if (err instanceof InvalidMessageError) return { problems: err.problems, message: err.message };
    return { problems: [String(err)], message: 'invalid request' };
  }
}

/** Instructions that settle a JetStream message (exactly one per message received). */
const SETTLES: ReadonlySet<Instruction['type']> = new Set(['ack', 'nak', 'term']);

function failure(code: FailureCode, message: string, details?: Record<string, JsonValue>): Failure {
  return Failure.create(code, message, details ? { details } : {});
}
