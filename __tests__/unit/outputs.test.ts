import { readFileSync } from 'node:fs'
import * as yaml from 'js-yaml'
import { closingLines, Output, outputValues, platformDigestOutput, summaryMarkdown, type ReleaseResult } from '../../src/outputs.js'

// Real digests of a three-platform push, captured by capture.sh.
const captured = JSON.parse(readFileSync(new URL('../fixtures/buildx/attestations.expected.json', import.meta.url), 'utf8')) as {
  topDigest: string
  platforms: Record<string, string>
}
const TOP = captured.topDigest
const AMD64 = captured.platforms['linux/amd64'] ?? ''
const ARM64 = captured.platforms['linux/arm64'] ?? ''
const ARMV7 = captured.platforms['linux/arm/v7'] ?? ''
const METADATA = readFileSync(new URL('../fixtures/buildx/attestations.metadata.json', import.meta.url), 'utf8')

const PUSHED: ReleaseResult = {
  version: '1.2.3',
  images: ['ghcr.io/octo/app', '127.0.0.1:5000/octo/app'],
  tags: ['ghcr.io/octo/app:1.2.3', 'ghcr.io/octo/app:latest', '127.0.0.1:5000/octo/app:1.2.3'],
  pushed: true,
  digest: TOP,
  digests: { 'linux/amd64': AMD64, 'linux/arm64': ARM64, 'linux/arm/v7': ARMV7 },
  metadata: METADATA
}

const NOT_PUSHED: ReleaseResult = {
  version: 'pr-42',
  images: ['ghcr.io/octo/app'],
  tags: ['ghcr.io/octo/app:pr-42'],
  pushed: false,
  digest: '',
  digests: {},
  metadata: '{}'
}

test('the captured digests are there', () => {
  expect([TOP, AMD64, ARM64, ARMV7].map(d => /^sha256:[0-9a-f]{64}$/.test(d))).toEqual([true, true, true, true])
})

describe('platformDigestOutput', () => {
  test.each<[string, string]>([
    ['linux/amd64', 'digest-linux-amd64'],
    ['linux/arm64', 'digest-linux-arm64'],
    ['linux/arm/v7', 'digest-linux-arm-v7'],
    ['linux/arm/v6', 'digest-linux-arm-v6'],
    ['linux/386', 'digest-linux-386'],
    ['linux/ppc64le', 'digest-linux-ppc64le'],
    ['linux/s390x', 'digest-linux-s390x'],
    ['linux/riscv64', 'digest-linux-riscv64'],
    ['linux/arm', 'digest-linux-arm-v7'],
    ['linux/aarch64', 'digest-linux-arm64'],
    ['linux/arm64/v8.2', 'digest-linux-arm64-v8-2'],
    ['linux/amd64/v3', 'digest-linux-amd64-v3']
  ])('%s → %s', (platform, expected) => {
    expect(platformDigestOutput(platform)).toEqual(expected)
  })

  test('every per-platform output of the common platforms is declared in action.yml', () => {
    const action = yaml.load(readFileSync(new URL('../../action.yml', import.meta.url), 'utf8')) as { outputs: Record<string, unknown> }
    const common = ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/arm/v6', 'linux/386', 'linux/ppc64le', 'linux/s390x', 'linux/riscv64']
    expect(common.map(platformDigestOutput).filter(name => !(name in action.outputs))).toEqual([])
    expect(Object.values(Output).filter(name => !(name in action.outputs))).toEqual([])
  })
})

describe('outputValues', () => {
  test.each<[string, ReleaseResult, Record<string, string>]>([
    [
      'a pushed three-platform release',
      PUSHED,
      {
        version: '1.2.3',
        images: 'ghcr.io/octo/app\n127.0.0.1:5000/octo/app',
        tags: 'ghcr.io/octo/app:1.2.3\nghcr.io/octo/app:latest\n127.0.0.1:5000/octo/app:1.2.3',
        digest: TOP,
        digests: `{"linux/amd64":"${AMD64}","linux/arm64":"${ARM64}","linux/arm/v7":"${ARMV7}"}`,
        metadata: METADATA,
        'digest-linux-amd64': AMD64,
        'digest-linux-arm64': ARM64,
        'digest-linux-arm-v7': ARMV7
      }
    ],
    [
      'nothing pushed: empty digest, an empty digests object, no per-platform outputs',
      NOT_PUSHED,
      { version: 'pr-42', images: 'ghcr.io/octo/app', tags: 'ghcr.io/octo/app:pr-42', digest: '', digests: '{}', metadata: '{}' }
    ]
  ])('%s', (_name, result, expected) => {
    expect(outputValues(result)).toEqual(expected)
  })

  test('the digests output keeps the requested order', () => {
    const reordered = { ...PUSHED, digests: { 'linux/arm/v7': ARMV7, 'linux/amd64': AMD64 } }
    expect(Object.keys(JSON.parse(outputValues(reordered).digests) as Record<string, string>)).toEqual(['linux/arm/v7', 'linux/amd64'])
  })
})

describe('summaryMarkdown', () => {
  test.each<[string, ReleaseResult, string]>([
    [
      'pushed',
      PUSHED,
      [
        '## Multiarch release',
        '',
        'Version **1.2.3**',
        '',
        `Index digest: \`${TOP}\``,
        '',
        '| tag |',
        '| --- |',
        '| `ghcr.io/octo/app:1.2.3` |',
        '| `ghcr.io/octo/app:latest` |',
        '| `127.0.0.1:5000/octo/app:1.2.3` |',
        '',
        '| platform | digest |',
        '| --- | --- |',
        `| linux/amd64 | \`${AMD64}\` |`,
        `| linux/arm64 | \`${ARM64}\` |`,
        `| linux/arm/v7 | \`${ARMV7}\` |`,
        ''
      ].join('\n')
    ],
    [
      'not pushed: no digest line, no platform table',
      NOT_PUSHED,
      ['## Multiarch release', '', 'Version **pr-42** (not pushed)', '', '| tag |', '| --- |', '| `ghcr.io/octo/app:pr-42` |', ''].join('\n')
    ]
  ])('%s', (_name, result, expected) => {
    expect(summaryMarkdown(result)).toEqual(expected)
  })
})

describe('closingLines', () => {
  const pushed: ReleaseResult = {
    version: '1.2.3',
    images: ['ghcr.io/octo/app', 'docker.io/octo/app'],
    tags: ['ghcr.io/octo/app:1.2.3'],
    pushed: true,
    digest: 'sha256:index',
    digests: { 'linux/amd64': 'sha256:a', 'linux/arm/v7': 'sha256:b' },
    metadata: '{}'
  }
  test.each<[string, ReleaseResult, string[]]>([
    [
      'a push names the index and each platform by digest',
      pushed,
      ['1.2.3: ghcr.io/octo/app@sha256:index', 'linux/amd64    ghcr.io/octo/app@sha256:a', 'linux/arm/v7   ghcr.io/octo/app@sha256:b']
    ],
    [
      'a local build with archives names the archives',
      { ...pushed, pushed: false, digest: '', digests: {}, archives: { 'linux/amd64': 'images/app_1.2.3_linux-amd64.tar' } },
      ['1.2.3: built, not pushed', 'linux/amd64    images/app_1.2.3_linux-amd64.tar']
    ]
  ])('%s', (_name, result, expected) => {
    expect(closingLines(result)).toEqual(expected)
  })
})
