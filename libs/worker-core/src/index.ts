// The worker's pure core: a state machine fed stimuli that returns instructions (no I/O, no clock, no timers).
export { WorkerState, type WorkerCoreConfig } from './worker-state.js';
export { StimulusLog, DEFAULT_LOG_SIZE, type StoryEntry } from './stimulus-log.js';
export { workerStory } from './story-lines.js';
export { planPulls, type PlannedPull } from './pull-planner.js';
export { ShardPulls } from './shard-pulls.js';
export { ownedShards, LiveWorkers } from './shard-ownership.js';
export { retryDelay, DEFAULT_BACKOFF_MS, DEFAULT_MAX_BACKOFF_MS, type RetryPolicy } from './retry-policy.js';
export type {
  Stimulus, StartStimulus, WorkReceived, PullEnded, Tick, TaskProgress, TaskFinished, OutcomeStored, OutcomeStoreFailed,
  CancelRequested, DrainRequested, DrainDeadlinePassed, ClaimResult, ChildCallStarted, ChildCallEnded, ShardsOwned,
} from './stimuli.js';
export type {
  Instruction, Pull, Execute, PublishEvent, StoreOutcome, Reply, Ack, Nak, InProgress, Term, DeadLetter, Abort, ScheduleTick, Drained,
  CountInvalid, Log, Claim, ReleaseClaim, Resume, PullShard,
} from './instructions.js';
