import * as core from '@actions/core'
import { StateKey } from './statekeys.js'

export { StateKey } from './statekeys.js'

/** The slice of `core` the state helpers need; tests pass a map-backed one. */
export interface StateStore {
  saveState(name: string, value: string): void
  getState(name: string): string
}

/** What this process saved: main cleans up after itself from it (the post step reads the saved state). */
const savedByThisProcess = new Map<string, string>()

export const actionsState: StateStore = {
  saveState: (name, value) => {
    savedByThisProcess.set(name, value)
    core.saveState(name, value)
  },
  getState: name => core.getState(name)
}

/** The state as this process saved it so far. */
export const savedHere: StateStore = {
  saveState: (name, value) => actionsState.saveState(name, value),
  getState: name => savedByThisProcess.get(name) ?? ''
}

export interface SavedState {
  /** A builder this step created and must remove; empty when none. */
  builder: string
  /** A standalone buildx binary installed by this step; empty for the docker plugin. */
  buildxPath: string
  /** The private Docker config directory holding this step's credentials; empty when none. */
  dockerConfig: string
  /** Registries this step logged in to (saved before each login). */
  logins: string[]
}

export function markMainStarted(store: StateStore = actionsState): void {
  // Set at the start of main so the post step (same bundle) knows which role it has.
  store.saveState(StateKey.isPost, 'true')
}

export function saveBuilder(name: string, store: StateStore = actionsState): void {
  store.saveState(StateKey.builder, name)
}

export function saveBuildxPath(path: string, store: StateStore = actionsState): void {
  store.saveState(StateKey.buildxPath, path)
}

export function saveDockerConfig(dir: string, store: StateStore = actionsState): void {
  store.saveState(StateKey.dockerConfig, dir)
}

export function saveLogins(registries: string[], store: StateStore = actionsState): void {
  store.saveState(StateKey.logins, JSON.stringify(registries))
}

export function readState(store: StateStore = actionsState): SavedState {
  let logins: string[] = []
  try {
    const parsed: unknown = JSON.parse(store.getState(StateKey.logins) || '[]')
    if (Array.isArray(parsed)) logins = parsed.filter((r): r is string => typeof r === 'string')
  } catch {
    // A corrupt entry must not stop the rest of the cleanup.
  }
  return {
    builder: store.getState(StateKey.builder),
    buildxPath: store.getState(StateKey.buildxPath),
    dockerConfig: store.getState(StateKey.dockerConfig),
    logins
  }
}

/** Main cleaned up after itself: the post step has nothing to do. */
export function markCleaned(store: StateStore = actionsState): void {
  store.saveState(StateKey.cleaned, 'true')
}
