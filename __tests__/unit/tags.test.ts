import { InputError } from '../../src/errors.js'
import type { RunContext } from '../../src/context.js'
import {
  deriveTags,
  imageRefs,
  ociLabels,
  sanitizeTag,
  validateTag,
  type LatestMode,
  type TagOptions
} from '../../src/tags.js'
import { runContextOf, versionInputOf } from '../fixtures/events.js'

const RULE = 'a docker tag matches ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'
const KNOWN = '{{version}}, {{major}}, {{minor}}, {{patch}}, {{sha}}, {{ref}}'

function options(overrides: Partial<TagOptions> = {}): TagOptions {
  return { version: '', tags: [], latest: 'auto', ...overrides }
}

/** A plain run context for cases no fixture covers; fields not named are those of a push to main. */
function run(overrides: Partial<RunContext> = {}): RunContext {
  return {
    eventName: 'push',
    ref: 'refs/heads/main',
    sha: '5e8a1c3d7f9b2e4a6c8d0f1b3a5c7e9d2f4b6a80',
    repository: 'octo-org/hello-app',
    actor: 'octocat',
    serverUrl: 'https://github.com',
    apiUrl: 'https://api.github.com',
    runId: 13833441002,
    runAttempt: 1,
    prerelease: false,
    ...overrides
  }
}

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (e: unknown) {
    return e
  }
  throw new Error('expected an exception')
}

describe('deriveTags: the tag table, one row per event fixture', () => {
  test.each<[string, string, LatestMode, { version: string; tags: string[] }]>([
    ['release published, tag v1.2.3', 'release-published-v1.2.3', 'auto', { version: '1.2.3', tags: ['1.2.3', '1.2', '1', 'latest'] }],
    ['push of tag v1.2.3', 'push-tag-v1.2.3', 'auto', { version: '1.2.3', tags: ['1.2.3', '1.2', '1', 'latest'] }],
    ['release of v2.0.0-rc.1', 'release-published-v2.0.0-rc.1', 'auto', { version: '2.0.0-rc.1', tags: ['2.0.0-rc.1'] }],
    ['release v2.0.0 marked prerelease', 'release-prerelease-v2.0.0', 'auto', { version: '2.0.0', tags: ['2.0.0'] }],
    ['tag v0.4.1', 'push-tag-v0.4.1', 'auto', { version: '0.4.1', tags: ['0.4.1', '0.4', 'latest'] }],
    ['tag not semver', 'push-tag-release-2023-02', 'auto', { version: 'release-2023-02', tags: ['release-2023-02'] }],
    ['tag not semver, latest: true', 'push-tag-release-2023-02', 'true', { version: 'release-2023-02', tags: ['release-2023-02', 'latest'] }],
    ['workflow_dispatch with version 1.5.0', 'workflow-dispatch-version-1.5.0', 'auto', { version: '1.5.0', tags: ['1.5.0', '1.5', '1', 'latest'] }],
    ['workflow_dispatch without version on main', 'workflow-dispatch-main', 'auto', { version: 'main', tags: ['main'] }],
    ['push to branch feature/x', 'push-branch-feature-x', 'auto', { version: 'feature-x', tags: ['feature-x'] }],
    ['pull_request #42', 'pull-request-42', 'auto', { version: 'pr-42', tags: ['pr-42'] }],
    ['pull_request_target #42 (runs on the base ref)', 'pull-request-target-42', 'auto', { version: 'pr-42', tags: ['pr-42'] }],
    ['schedule on main', 'schedule-main', 'auto', { version: 'main', tags: ['main'] }]
  ])('%s', (_name, fixture, latest, expected) => {
    const plan = deriveTags(runContextOf(fixture), options({ version: versionInputOf(fixture), latest }))
    expect({ version: plan.version, tags: plan.tags }).toEqual(expected)
  })
})

describe('deriveTags: latest decision', () => {
  test.each<[string, string, LatestMode, { latest: boolean; latestReason: string }]>([
    ['stable release', 'release-published-v1.2.3', 'auto', { latest: true, latestReason: 'latest: 1.2.3 is a stable semver release' }],
    ['semver prerelease', 'release-published-v2.0.0-rc.1', 'auto', { latest: false, latestReason: 'no latest: 2.0.0-rc.1 is a prerelease' }],
    ['release.prerelease', 'release-prerelease-v2.0.0', 'auto', { latest: false, latestReason: 'no latest: 2.0.0 is a prerelease' }],
    ['branch', 'workflow-dispatch-main', 'auto', { latest: false, latestReason: 'no latest: main is not a semver version (set latest: true to force it)' }],
    ['forced on a branch', 'push-branch-feature-x', 'true', { latest: true, latestReason: 'latest: forced by latest: true' }],
    ['forced on a prerelease', 'release-published-v2.0.0-rc.1', 'true', { latest: true, latestReason: 'latest: forced by latest: true' }],
    ['disabled on a stable release', 'release-published-v1.2.3', 'false', { latest: false, latestReason: 'no latest: latest: false' }],
    ['explicit version', 'workflow-dispatch-version-1.5.0', 'auto', { latest: true, latestReason: 'latest: 1.5.0 is a stable semver release' }]
  ])('%s', (_name, fixture, latest, expected) => {
    const plan = deriveTags(runContextOf(fixture), options({ version: versionInputOf(fixture), latest }))
    expect({ latest: plan.latest, latestReason: plan.latestReason }).toEqual(expected)
  })

  test('latest: false leaves only the version tags', () => {
    expect(deriveTags(runContextOf('push-tag-v1.2.3'), options({ latest: 'false' })).tags).toEqual(['1.2.3', '1.2', '1'])
  })
})

describe('deriveTags: versions', () => {
  test.each<[string, RunContext, string, Omit<ReturnType<typeof deriveTags>, 'latestReason'>]>([
    [
      'full plan of a stable tag',
      run({ ref: 'refs/tags/v1.2.3' }),
      '',
      { version: '1.2.3', semver: { major: 1, minor: 2, patch: 3, prerelease: false }, tags: ['1.2.3', '1.2', '1', 'latest'], latest: true }
    ],
    [
      'build metadata keeps its text with "-" for "+"',
      run({ ref: 'refs/tags/v1.2.3+build.5' }),
      '',
      { version: '1.2.3-build.5', semver: { major: 1, minor: 2, patch: 3, prerelease: false }, tags: ['1.2.3-build.5', '1.2', '1', 'latest'], latest: true }
    ],
    [
      'prerelease with build metadata',
      run({ ref: 'refs/tags/v3.0.0-beta.2+exp.sha.5114f85' }),
      '',
      { version: '3.0.0-beta.2-exp.sha.5114f85', semver: { major: 3, minor: 0, patch: 0, prerelease: true }, tags: ['3.0.0-beta.2-exp.sha.5114f85'], latest: false }
    ],
    [
      'explicit version drops the leading v',
      run(),
      'v1.5.0',
      { version: '1.5.0', semver: { major: 1, minor: 5, patch: 0, prerelease: false }, tags: ['1.5.0', '1.5', '1', 'latest'], latest: true }
    ],
    [
      'explicit version is trimmed',
      run(),
      '  2.1.0\n',
      { version: '2.1.0', semver: { major: 2, minor: 1, patch: 0, prerelease: false }, tags: ['2.1.0', '2.1', '2', 'latest'], latest: true }
    ],
    [
      'explicit version on a pull request wins over pr-N',
      run({ eventName: 'pull_request', ref: 'refs/pull/7/merge', prNumber: 7 }),
      '0.9.0',
      { version: '0.9.0', semver: { major: 0, minor: 9, patch: 0, prerelease: false }, tags: ['0.9.0', '0.9', 'latest'], latest: true }
    ],
    [
      'explicit non-semver version is sanitized',
      run(),
      'nightly/2025 03',
      { version: 'nightly-2025-03', tags: ['nightly-2025-03'], latest: false }
    ],
    ['strict semver: a two-part tag is not semver', run({ ref: 'refs/tags/v1.2' }), '', { version: 'v1.2', tags: ['v1.2'], latest: false }],
    ['strict semver: leading zeros are not semver', run({ ref: 'refs/tags/v01.2.3' }), '', { version: 'v01.2.3', tags: ['v01.2.3'], latest: false }],
    ['a capital V is not dropped', run({ ref: 'refs/tags/V1.2.3' }), '', { version: 'V1.2.3', tags: ['V1.2.3'], latest: false }],
    ['a branch named like a version is a branch', run({ ref: 'refs/heads/1.2.3' }), '', { version: '1.2.3', tags: ['1.2.3'], latest: false }],
    ['nested tag path', run({ ref: 'refs/tags/app/v1.0.0' }), '', { version: 'app-v1.0.0', tags: ['app-v1.0.0'], latest: false }],
    ['refs/pull without a payload number', run({ eventName: 'pull_request', ref: 'refs/pull/9/head' }), '', { version: 'pr-9', tags: ['pr-9'], latest: false }],
    ['unknown ref shape uses the last component', run({ ref: 'refs/remotes/origin/topic@x' }), '', { version: 'topic-x', tags: ['topic-x'], latest: false }],
    ['ref without slashes', run({ ref: 'detached' }), '', { version: 'detached', tags: ['detached'], latest: false }],
    [
      'release tag comes from the payload',
      run({ eventName: 'release', ref: 'refs/tags/v5.0.0', releaseTag: 'v5.0.0' }),
      '',
      { version: '5.0.0', semver: { major: 5, minor: 0, patch: 0, prerelease: false }, tags: ['5.0.0', '5.0', '5', 'latest'], latest: true }
    ],
    [
      'release.prerelease also makes an explicit version a prerelease',
      run({ eventName: 'release', ref: 'refs/tags/v5.0.0', releaseTag: 'v5.0.0', prerelease: true }),
      '5.0.0',
      { version: '5.0.0', semver: { major: 5, minor: 0, patch: 0, prerelease: true }, tags: ['5.0.0'], latest: false }
    ]
  ])('%s', (_name, ctx, version, expected) => {
    expect(deriveTags(ctx, options({ version }))).toEqual({ ...expected, latestReason: expect.any(String) })
  })
})

describe('deriveTags: tag templates', () => {
  test.each<[string, string, string[], string, string[]]>([
    ['major, minor and patch', 'push-tag-v1.2.3', ['stable-{{major}}', 'v{{major}}.{{minor}}.{{patch}}'], 'auto', ['1.2.3', '1.2', '1', 'stable-1', 'v1.2.3', 'latest']],
    ['sha is the short commit', 'push-tag-v1.2.3', ['sha-{{sha}}', '{{sha}}'], 'false', ['1.2.3', '1.2', '1', 'sha-8f3c2a9', '8f3c2a9']],
    ['ref of a tag is the tag name', 'push-tag-v1.2.3', ['{{ref}}'], 'false', ['1.2.3', '1.2', '1', 'v1.2.3']],
    ['ref of a release is its tag', 'release-published-v2.0.0-rc.1', ['{{ref}}', 'next'], 'auto', ['2.0.0-rc.1', 'v2.0.0-rc.1', 'next']],
    ['ref of a branch is sanitized', 'push-branch-feature-x', ['{{ref}}-{{sha}}'], 'auto', ['feature-x', 'feature-x-a7c9e1b']],
    ['ref of a pull request', 'pull-request-42', ['{{ref}}-{{sha}}'], 'auto', ['pr-42', 'pr-42-e3f5a7c']],
    ['version on a branch', 'workflow-dispatch-main', ['edge-{{version}}'], 'auto', ['main', 'edge-main']],
    ['spaces inside braces', 'push-tag-v0.4.1', ['{{ version }}-{{ sha }}'], 'false', ['0.4.1', '0.4', '0.4.1-2b9d4f6']],
    ['whitespace-only lines are ignored and lines trimmed', 'push-tag-v0.4.1', ['', '   ', '\t', '  edge  '], 'false', ['0.4.1', '0.4', 'edge']],
    ['invalid characters become "-"', 'push-tag-v1.2.3', ['release/{{major}} x'], 'false', ['1.2.3', '1.2', '1', 'release-1-x']],
    ['duplicates keep their first position', 'push-tag-v1.2.3', ['{{major}}', 'edge', '{{version}}', 'edge'], 'auto', ['1.2.3', '1.2', '1', 'edge', 'latest']],
    ['prerelease still knows its major', 'release-published-v2.0.0-rc.1', ['{{major}}-rc'], 'auto', ['2.0.0-rc.1', '2-rc']],
    ['a 128-character template is allowed', 'push-branch-feature-x', ['a'.repeat(128)], 'auto', ['feature-x', 'a'.repeat(128)]]
  ])('%s', (_name, fixture, tags, latest, expected) => {
    expect(deriveTags(runContextOf(fixture), options({ tags, latest: latest as LatestMode })).tags).toEqual(expected)
  })
})

describe('deriveTags: errors name the input', () => {
  test.each<[string, RunContext, Partial<TagOptions>, string]>([
    [
      'major on a branch',
      run(),
      { tags: ['stable-{{major}}'] },
      'Input "tags": template "stable-{{major}}" uses {{major}}, but the version "main" is not semver (MAJOR.MINOR.PATCH)'
    ],
    [
      'patch on a pull request',
      run({ eventName: 'pull_request', ref: 'refs/pull/42/merge', prNumber: 42 }),
      { tags: ['{{version}}', 'p{{patch}}'] },
      'Input "tags": template "p{{patch}}" uses {{patch}}, but the version "pr-42" is not semver (MAJOR.MINOR.PATCH)'
    ],
    [
      'unknown placeholder',
      run(),
      { tags: ['{{branch}}'] },
      `Input "tags": template "{{branch}}" uses unknown placeholder {{branch}}; known: ${KNOWN}`
    ],
    [
      'placeholders are case-sensitive',
      run(),
      { tags: ['{{Version}}'] },
      `Input "tags": template "{{Version}}" uses unknown placeholder {{Version}}; known: ${KNOWN}`
    ],
    ['template expanding to nothing', run({ ref: '' }), { version: '1.0.0', tags: ['{{ref}}'] }, 'Input "tags": template "{{ref}}" expands to an empty tag'],
    ['template starting with "-"', run(), { tags: ['-{{version}}'] }, `Input "tags": tag "-main" starts with "-"; ${RULE}`],
    ['template starting with "."', run(), { tags: ['.hidden'] }, `Input "tags": tag ".hidden" starts with "."; ${RULE}`],
    [
      'template longer than 128 characters',
      run(),
      { tags: ['x'.repeat(124) + '-{{version}}'] },
      `Input "tags": tag "${'x'.repeat(40)}…" is 129 characters long, more than 128; ${RULE}`
    ],
    [
      'template giving latest',
      run(),
      { tags: ['latest'] },
      'Input "tags": template "latest" gives "latest", which only the latest input sets'
    ],
    [
      'explicit version longer than 128 characters',
      run(),
      { version: '1.0.0-' + 'a'.repeat(130) },
      `Input "version": tag "1.0.0-${'a'.repeat(34)}…" is 136 characters long, more than 128; ${RULE}`
    ],
    ['explicit version starting with "-"', run(), { version: '-rc1' }, `Input "version": tag "-rc1" starts with "-"; ${RULE}`],
    ['explicit version starting with "."', run(), { version: '.1' }, `Input "version": tag ".1" starts with "."; ${RULE}`],
    [
      'explicit version latest',
      run(),
      { version: 'latest' },
      'Input "version": the version "latest" would be confused with the latest tag; set another version and use latest: true instead'
    ],
    [
      'derived version too long',
      run({ ref: 'refs/heads/' + 'b'.repeat(129) }),
      {},
      `Input "version": tag "${'b'.repeat(40)}…" is 129 characters long, more than 128; ${RULE} (derived from ref "refs/heads/${'b'.repeat(29)}…" of the push event; set the version input)`
    ],
    [
      'derived version starting with "-"',
      run({ ref: 'refs/heads/@fix' }),
      {},
      `Input "version": tag "-fix" starts with "-"; ${RULE} (derived from ref "refs/heads/@fix" of the push event; set the version input)`
    ],
    [
      'no ref and no version',
      run({ eventName: 'schedule', ref: '' }),
      {},
      'Input "version": no version can be derived from ref "" of the schedule event; set the version input'
    ],
    ['unknown latest mode', run(), { latest: 'yes' as LatestMode }, 'Input "latest": expected auto, true or false, got "yes"']
  ])('%s', (_name, ctx, overrides, message) => {
    const e = thrown(() => deriveTags(ctx, options(overrides)))
    expect(e).toBeInstanceOf(InputError)
    expect((e as InputError).message).toEqual(message)
  })

  test('the input of an error is machine-readable', () => {
    const e = thrown(() => deriveTags(run(), options({ tags: ['{{major}}'] })))
    expect((e as InputError).input).toEqual('tags')
  })
})

describe('validateTag', () => {
  test.each<[string, string]>([
    ['latest', 'latest'],
    ['semver', '1.2.3'],
    ['leading underscore', '_private'],
    ['every allowed character', 'A-Z_a-z.0-9'],
    ['exactly 128 characters', 'x'.repeat(128)],
    ['one digit', '9']
  ])('accepts %s', (_name, tag) => {
    expect(validateTag(tag, 'tags')).toEqual(tag)
  })

  test.each<[string, string, string]>([
    ['empty', '', `Input "tags": the tag is empty; ${RULE}`],
    ['129 characters', 'x'.repeat(129), `Input "tags": tag "${'x'.repeat(40)}…" is 129 characters long, more than 128; ${RULE}`],
    ['-x', '-x', `Input "tags": tag "-x" starts with "-"; ${RULE}`],
    ['.x', '.x', `Input "tags": tag ".x" starts with "."; ${RULE}`],
    ['a/b', 'a/b', `Input "tags": tag "a/b" holds characters other than A-Z a-z 0-9 _ . -; ${RULE}`],
    ['café', 'café', `Input "tags": tag "café" holds characters other than A-Z a-z 0-9 _ . -; ${RULE}`],
    ['a+b', 'a+b', `Input "tags": tag "a+b" holds characters other than A-Z a-z 0-9 _ . -; ${RULE}`]
  ])('rejects %s', (_name, tag, message) => {
    const e = thrown(() => validateTag(tag, 'tags'))
    expect(e).toBeInstanceOf(InputError)
    expect((e as InputError).message).toEqual(message)
  })
})

describe('sanitizeTag', () => {
  test.each<[string, string]>([
    ['feature/x', 'feature-x'],
    ['a b\tc', 'a-b-c'],
    ['1.2.3+build', '1.2.3-build'],
    ['ok_-.', 'ok_-.'],
    ['café', 'caf-'],
    ['🚀x', '-x'],
    ['', '']
  ])('%j → %j', (input, expected) => {
    expect(sanitizeTag(input)).toEqual(expected)
  })
})

describe('imageRefs', () => {
  test.each<[string[], string[], string[]]>([
    [
      ['ghcr.io/octo-org/hello-app', 'docker.io/octo/hello'],
      ['1.2.3', '1.2', 'latest'],
      [
        'ghcr.io/octo-org/hello-app:1.2.3',
        'ghcr.io/octo-org/hello-app:1.2',
        'ghcr.io/octo-org/hello-app:latest',
        'docker.io/octo/hello:1.2.3',
        'docker.io/octo/hello:1.2',
        'docker.io/octo/hello:latest'
      ]
    ],
    [['registry.internal:5000/app'], ['pr-42'], ['registry.internal:5000/app:pr-42']],
    [[], ['1'], []],
    [['app'], [], []]
  ])('%j × %j', (images, tags, expected) => {
    expect(imageRefs(images, tags)).toEqual(expected)
  })
})

describe('ociLabels', () => {
  test('from a release fixture', () => {
    expect(ociLabels(runContextOf('release-published-v1.2.3'), '1.2.3', '2025-03-14T09:21:00.000Z', 'hello-app')).toEqual({
      'org.opencontainers.image.source': 'https://github.com/octo-org/hello-app',
      'org.opencontainers.image.revision': '8f3c2a9e41d7b06c5e2f9a1d3b7c4e6f0a2d8b15',
      'org.opencontainers.image.version': '1.2.3',
      'org.opencontainers.image.created': '2025-03-14T09:21:00.000Z',
      'org.opencontainers.image.title': 'hello-app',
      'org.opencontainers.image.url': 'https://github.com/octo-org/hello-app'
    })
  })

  test('a GitHub Enterprise server URL with a trailing slash', () => {
    const labels = ociLabels(run({ serverUrl: 'https://ghe.example.com/' }), 'main', '2025-01-01T00:00:00Z', 'hello-app')
    expect(labels['org.opencontainers.image.source']).toEqual('https://ghe.example.com/octo-org/hello-app')
  })
})
