import fc from 'fast-check'
import type { RunContext } from '../../src/context.js'
import { InputError } from '../../src/errors.js'
import { deriveTags, type LatestMode, type TagPlan } from '../../src/tags.js'

const DOCKER_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/
const NUM_RUNS = 2000

// Characters that sit on the edges of the rules: separators, semver punctuation, braces, whitespace, non-ASCII.
const edgy = fc.string({
  unit: fc.constantFrom('v', 'V', '0', '1', '9', 'a', 'Z', '_', '.', '-', '+', '/', '{', '}', ' ', '\t', '\n', '@', 'é', '🚀'),
  maxLength: 24
})
const anyText = fc.oneof(fc.string({ unit: 'grapheme', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }), edgy)
const longText = fc.string({ unit: 'grapheme-ascii', minLength: 100, maxLength: 200 })

const identifier = fc.oneof(fc.stringMatching(/^[0-9A-Za-z-]{1,8}$/), fc.nat({ max: 99 }).map(String))
const semverText = fc
  .tuple(
    fc.constantFrom('', 'v'),
    fc.nat({ max: 30 }),
    fc.nat({ max: 30 }),
    fc.nat({ max: 30 }),
    fc.option(fc.array(identifier, { minLength: 1, maxLength: 3 }), { nil: undefined }),
    fc.option(fc.array(identifier, { minLength: 1, maxLength: 3 }), { nil: undefined })
  )
  .map(
    ([v, major, minor, patch, pre, build]) =>
      `${v}${major}.${minor}.${patch}${pre ? `-${pre.join('.')}` : ''}${build ? `+${build.join('.')}` : ''}`
  )
const versionLike = fc.oneof(semverText, anyText, longText)

const ref = fc.oneof(
  versionLike.map(t => `refs/tags/${t}`),
  anyText.map(b => `refs/heads/${b}`),
  longText.map(b => `refs/heads/${b}`),
  fc.nat().map(n => `refs/pull/${n}/merge`),
  anyText
)

const placeholder = fc.constantFrom('{{version}}', '{{major}}', '{{minor}}', '{{patch}}', '{{sha}}', '{{ref}}', '{{ version }}', '{{nope}}', '{{', '}}')
const template = fc.oneof(
  fc.array(fc.oneof(placeholder, edgy), { maxLength: 4 }).map(parts => parts.join('')),
  anyText,
  longText
)

const context: fc.Arbitrary<RunContext> = fc.record({
  eventName: fc.constantFrom('push', 'release', 'pull_request', 'pull_request_target', 'workflow_dispatch', 'schedule'),
  ref,
  sha: fc.oneof(fc.stringMatching(/^[0-9a-f]{40}$/), anyText),
  repository: fc.constant('octo-org/hello-app'),
  actor: fc.constant('octocat'),
  serverUrl: fc.constant('https://github.com'),
  apiUrl: fc.constant('https://api.github.com'),
  runId: fc.nat(),
  runAttempt: fc.integer({ min: 1, max: 5 }),
  prerelease: fc.boolean(),
  prNumber: fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined }),
  releaseTag: fc.option(versionLike, { nil: undefined })
})

const tagOptions = fc.record({
  version: fc.oneof(fc.constant(''), versionLike),
  // Half the runs without extra tags, so the ref and version rules are not drowned out by template errors.
  tags: fc.oneof(fc.constant<string[]>([]), fc.array(template, { minLength: 1, maxLength: 3 })),
  latest: fc.constantFrom<LatestMode>('auto', 'true', 'false')
})

function planOrInputError(ctx: RunContext, opts: Parameters<typeof deriveTags>[1]): TagPlan | undefined {
  try {
    return deriveTags(ctx, opts)
  } catch (e: unknown) {
    if (e instanceof InputError) return undefined
    throw e
  }
}

describe('deriveTags properties', () => {
  test('returns valid, unique docker tags or throws InputError, never anything else', () => {
    fc.assert(
      fc.property(context, tagOptions, (ctx, opts) => {
        const plan = planOrInputError(ctx, opts)
        if (!plan) return
        for (const tag of plan.tags) {
          expect(tag).toMatch(DOCKER_TAG)
          expect(tag.length).toBeLessThanOrEqual(128)
        }
        expect(new Set(plan.tags).size).toEqual(plan.tags.length)
        expect(plan.tags[0]).toEqual(plan.version)
        expect(plan.tags.includes('latest')).toEqual(plan.latest)
        if (plan.latest) expect(plan.tags[plan.tags.length - 1]).toEqual('latest')
      }),
      { numRuns: NUM_RUNS }
    )
  })

  test('a stable semver tag gets version, major.minor, major (unless 0) and latest', () => {
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), fc.nat({ max: 1000 }), fc.nat({ max: 1000 }), (major, minor, patch) => {
        const ctx: RunContext = {
          eventName: 'push',
          ref: `refs/tags/v${major}.${minor}.${patch}`,
          sha: 'a'.repeat(40),
          repository: 'octo-org/hello-app',
          actor: 'octocat',
          serverUrl: 'https://github.com',
          apiUrl: 'https://api.github.com',
          runId: 1,
          runAttempt: 1,
          prerelease: false
        }
        const version = `${major}.${minor}.${patch}`
        const expected = major === 0 ? [version, `0.${minor}`, 'latest'] : [version, `${major}.${minor}`, `${major}`, 'latest']
        expect(deriveTags(ctx, { version: '', tags: [], latest: 'auto' }).tags).toEqual(expected)
      }),
      { numRuns: 200 }
    )
  })
})
