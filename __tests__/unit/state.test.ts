import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import {
  StateKey,
  actionsState,
  markCleaned,
  markMainStarted,
  readState,
  saveBuilder,
  saveBuildxPath,
  saveDockerConfig,
  saveLogins,
  savedHere,
  type SavedState,
  type StateStore
} from '../../src/state.js'

/** A StateStore over a map; getState answers '' for a missing name, as core.getState does. */
class MapStore implements StateStore {
  readonly values = new Map<string, string>()
  saveState(name: string, value: string): void {
    this.values.set(name, value)
  }
  getState(name: string): string {
    return this.values.get(name) ?? ''
  }
}

const EMPTY: SavedState = { builder: '', buildxPath: '', dockerConfig: '', logins: [] }

describe('state round trip', () => {
  test('nothing saved reads as empty, and main has not started', () => {
    const store = new MapStore()
    expect([store.getState(StateKey.isPost), readState(store)]).toEqual(['', EMPTY])
  })

  test('everything main saves comes back in post', () => {
    const store = new MapStore()
    markMainStarted(store)
    saveBuilder('multiarch-release-42-1-a1b2c3', store)
    saveBuildxPath('tool-cache/buildx/0.19.3/x64/buildx', store)
    saveDockerConfig('runner-temp/multiarch-release-x/docker-config', store)
    saveLogins(['docker.io', 'ghcr.io', '127.0.0.1:5000'], store)
    expect(store.getState(StateKey.isPost)).toBe('true')
    expect(readState(store)).toEqual({
      builder: 'multiarch-release-42-1-a1b2c3',
      buildxPath: 'tool-cache/buildx/0.19.3/x64/buildx',
      dockerConfig: 'runner-temp/multiarch-release-x/docker-config',
      logins: ['docker.io', 'ghcr.io', '127.0.0.1:5000']
    })
    expect(Object.fromEntries(store.values)).toEqual({
      [StateKey.isPost]: 'true',
      [StateKey.builder]: 'multiarch-release-42-1-a1b2c3',
      [StateKey.buildxPath]: 'tool-cache/buildx/0.19.3/x64/buildx',
      [StateKey.dockerConfig]: 'runner-temp/multiarch-release-x/docker-config',
      [StateKey.logins]: '["docker.io","ghcr.io","127.0.0.1:5000"]'
    })
  })

  test('the logins saved last win (saved before each login)', () => {
    const store = new MapStore()
    saveLogins(['docker.io'], store)
    saveLogins(['docker.io', 'ghcr.io'], store)
    expect(readState(store).logins).toEqual(['docker.io', 'ghcr.io'])
  })

  test.each<[string, string, string[]]>([
    ['not JSON', '["docker.io"', []],
    ['a JSON object', '{"docker.io":true}', []],
    ['a JSON string', '"docker.io"', []],
    ['JSON null', 'null', []],
    ['non-strings are dropped', '["docker.io", 1, null, {"r":"x"}, "ghcr.io"]', ['docker.io', 'ghcr.io']],
    ['an empty list', '[]', []]
  ])('logins state %s → %j, the rest still read', (_name, raw, logins) => {
    const store = new MapStore()
    saveBuilder('b', store)
    store.saveState(StateKey.logins, raw)
    expect(readState(store)).toEqual({ ...EMPTY, builder: 'b', logins })
  })
})

describe('what this process saved', () => {
  let dir: string
  const previous = process.env.GITHUB_STATE
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'state-'))
    // The runner creates the file; the toolkit only appends to it.
    process.env.GITHUB_STATE = path.join(dir, 'state')
    writeFileSync(process.env.GITHUB_STATE, '')
  })
  afterEach(() => {
    if (previous === undefined) delete process.env.GITHUB_STATE
    else process.env.GITHUB_STATE = previous
    rmSync(dir, { recursive: true, force: true })
  })

  test('main reads back what it saved for the post step, which main cannot read from the environment', () => {
    saveBuilder('multiarch-release-7-1-0a0b0c', actionsState)
    saveDockerConfig('runner-temp/docker-config', actionsState)
    saveLogins(['ghcr.io'], actionsState)
    expect(actionsState.getState(StateKey.builder)).toBe('')
    expect(readState(savedHere)).toEqual({ builder: 'multiarch-release-7-1-0a0b0c', buildxPath: '', dockerConfig: 'runner-temp/docker-config', logins: ['ghcr.io'] })
    // And the post step gets the same through the state file.
    const file = readFileSync(path.join(dir, 'state'), 'utf8')
    expect(file).toContain('builder<<')
    expect(file).toContain('multiarch-release-7-1-0a0b0c')
  })

  test('cleaned is saved for the post step', () => {
    const store = new MapStore()
    markCleaned(store)
    expect(store.getState(StateKey.cleaned)).toBe('true')
  })
})
