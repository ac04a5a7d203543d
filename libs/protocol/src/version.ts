/**
 * The version of the wire protocol this build speaks. Every envelope carries it as `v`; a message with
 * another `v` is refused with a ProtocolVersionError instead of being half-understood (moleculer's rule).
 * Bump it only for a change an older peer would misread; adding an optional field is not such a change.
 */
export const PROTOCOL_VERSION = 1 as const;

/** The type of PROTOCOL_VERSION (the only `v` this build accepts). */
export type ProtocolVersion = typeof PROTOCOL_VERSION;

/** The release of the taskmesh packages and apps (SemVer; every package.json under libs/ carries it too). */
export const TASKMESH_VERSION = '0.1.0';
