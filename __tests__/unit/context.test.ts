import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { GitHubContextLike, RunContext } from '../../src/context.js'
import type { EventFixture } from '../fixtures/events.js'

// @actions/github reads the environment once, when it is first imported, so every module that leads
// to it is imported only after the runner environment of a fixture is in place.
let mod: typeof import('../../src/context.js')
let fixtures: typeof import('../fixtures/events.js')
const saved: Record<string, string | undefined> = {}
let eventDir = ''

function setEnv(name: string, value: string | undefined): void {
  if (!(name in saved)) saved[name] = process.env[name]
  if (value === undefined) delete process.env[name]
  else process.env[name] = value
}

beforeAll(async () => {
  const fixture = readFixture('release-published-v1.2.3')
  eventDir = mkdtempSync(join(tmpdir(), 'event-'))
  const eventPath = join(eventDir, 'event.json')
  writeFileSync(eventPath, JSON.stringify(fixture.payload))
  for (const [name, value] of Object.entries(fixture.env)) setEnv(name, value)
  setEnv('GITHUB_EVENT_PATH', eventPath)
  setEnv('GITHUB_RUN_ATTEMPT', undefined)
  mod = await import('../../src/context.js')
  fixtures = await import('../fixtures/events.js')
})

function readFixture(name: string): EventFixture {
  return JSON.parse(readFileSync(new URL(`../fixtures/events/${name}.json`, import.meta.url), 'utf8')) as EventFixture
}

afterAll(() => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name]
    else process.env[name] = value
  }
  rmSync(eventDir, { recursive: true, force: true })
})

const common = {
  repository: 'octo-org/hello-app',
  actor: 'octocat',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  runAttempt: 1
}

describe('fromGitHubContext', () => {
  test.each<[string, RunContext]>([
    [
      'release-published-v1.2.3',
      {
        ...common,
        eventName: 'release',
        ref: 'refs/tags/v1.2.3',
        sha: '8f3c2a9e41d7b06c5e2f9a1d3b7c4e6f0a2d8b15',
        runId: 13811221301,
        prerelease: false,
        releaseTag: 'v1.2.3'
      }
    ],
    [
      'release-published-v2.0.0-rc.1',
      {
        ...common,
        eventName: 'release',
        ref: 'refs/tags/v2.0.0-rc.1',
        sha: 'c41e7d02b9a35f8e6d1c0b7a9e2f4d3c5b8a6e71',
        runId: 13822330412,
        prerelease: true,
        releaseTag: 'v2.0.0-rc.1'
      }
    ],
    [
      'push-tag-v1.2.3',
      {
        ...common,
        eventName: 'push',
        ref: 'refs/tags/v1.2.3',
        sha: '8f3c2a9e41d7b06c5e2f9a1d3b7c4e6f0a2d8b15',
        runId: 13811221288,
        prerelease: false
      }
    ],
    [
      'push-branch-feature-x',
      {
        ...common,
        eventName: 'push',
        ref: 'refs/heads/feature/x',
        sha: 'a7c9e1b3d5f70a2c4e6b8d0f2a4c6e8b0d2f4a63',
        runId: 13844552013,
        prerelease: false
      }
    ],
    [
      'pull-request-42',
      {
        ...common,
        eventName: 'pull_request',
        ref: 'refs/pull/42/merge',
        sha: 'e3f5a7c9b1d3e5f7a9c1b3d5e7f9a1c3b5d7e9f2',
        runId: 13855663124,
        prerelease: false,
        prNumber: 42
      }
    ],
    [
      'pull-request-target-42',
      {
        ...common,
        eventName: 'pull_request_target',
        ref: 'refs/heads/main',
        sha: '5e8a1c3d7f9b2e4a6c8d0f1b3a5c7e9d2f4b6a80',
        runId: 13855663188,
        prerelease: false,
        prNumber: 42
      }
    ],
    [
      'workflow-dispatch-version-1.5.0',
      {
        ...common,
        eventName: 'workflow_dispatch',
        ref: 'refs/heads/main',
        sha: '5e8a1c3d7f9b2e4a6c8d0f1b3a5c7e9d2f4b6a80',
        runId: 13833441002,
        prerelease: false
      }
    ],
    [
      'schedule-main',
      {
        ...common,
        eventName: 'schedule',
        ref: 'refs/heads/main',
        sha: '5e8a1c3d7f9b2e4a6c8d0f1b3a5c7e9d2f4b6a80',
        runId: 13866774235,
        prerelease: false
      }
    ]
  ])('%s', (fixture, expected) => {
    expect(mod.fromGitHubContext(fixtures.githubContextOf(fixtures.loadEvent(fixture)))).toEqual(expected)
  })

  test.each<[string, Partial<GitHubContextLike>, Partial<RunContext>]>([
    ['run numbers missing from the environment arrive as NaN', { runId: NaN, runAttempt: NaN }, { runId: 0, runAttempt: 1 }],
    ['runAttempt absent', { runAttempt: undefined }, { runAttempt: 1 }],
    ['a later attempt', { runAttempt: 2 }, { runAttempt: 2 }],
    [
      'pull request number from the ref when the payload has none',
      { eventName: 'pull_request', ref: 'refs/pull/17/merge', payload: {} },
      { eventName: 'pull_request', ref: 'refs/pull/17/merge', prNumber: 17 }
    ],
    [
      'review events carry the pull request too',
      { eventName: 'pull_request_review', ref: 'refs/pull/8/merge', payload: { pull_request: { number: 8 } } },
      { eventName: 'pull_request_review', ref: 'refs/pull/8/merge', prNumber: 8 }
    ],
    [
      'a push event ignores a pull_request key',
      { payload: { pull_request: { number: 3 } } },
      {}
    ],
    [
      'release without a ref gets the tag ref',
      { eventName: 'release', ref: '', payload: { release: { tag_name: 'v9.0.0', prerelease: false } } },
      { eventName: 'release', ref: 'refs/tags/v9.0.0', releaseTag: 'v9.0.0' }
    ],
    [
      'release.prerelease must be exactly true',
      { eventName: 'release', ref: 'refs/tags/v9.0.0', payload: { release: { tag_name: 'v9.0.0', prerelease: 'true' } } },
      { eventName: 'release', ref: 'refs/tags/v9.0.0', releaseTag: 'v9.0.0', prerelease: false }
    ],
    [
      'release with an empty tag_name',
      { eventName: 'release', ref: 'refs/tags/v9.0.0', payload: { release: { tag_name: '', prerelease: true } } },
      { eventName: 'release', ref: 'refs/tags/v9.0.0', prerelease: true }
    ],
    [
      'release.prerelease of another event is ignored',
      { payload: { release: { tag_name: 'v9.0.0', prerelease: true } } },
      {}
    ]
  ])('%s', (_name, overrides, expected) => {
    const base = fixtures.githubContextOf(fixtures.loadEvent('push-branch-feature-x'))
    expect(mod.fromGitHubContext({ ...base, ...overrides })).toEqual({ ...mod.fromGitHubContext(base), ...expected })
  })

  test('variables missing from the environment become empty strings, not "undefined"', () => {
    // @actions/github types these as strings, but an unset variable leaves them undefined.
    const missing = undefined as unknown as string
    const base = fixtures.githubContextOf(fixtures.loadEvent('schedule-main'))
    expect(
      mod.fromGitHubContext({ ...base, eventName: missing, ref: missing, sha: missing, actor: missing, payload: {} })
    ).toEqual({
      ...common,
      eventName: '',
      ref: '',
      sha: '',
      actor: '',
      runId: 13866774235,
      prerelease: false
    })
  })
})

describe('readRunContext', () => {
  test('reads the runner environment and event payload, GITHUB_RUN_ATTEMPT at call time', () => {
    setEnv('GITHUB_RUN_ATTEMPT', '3')
    expect(mod.readRunContext()).toEqual({
      ...common,
      eventName: 'release',
      ref: 'refs/tags/v1.2.3',
      sha: '8f3c2a9e41d7b06c5e2f9a1d3b7c4e6f0a2d8b15',
      runId: 13811221301,
      runAttempt: 3,
      prerelease: false,
      releaseTag: 'v1.2.3'
    })
  })
})
