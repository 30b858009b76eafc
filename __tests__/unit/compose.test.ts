import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { composeFileReport, composeReport, composeReportOf, interpolate, parseCompose, parseDotEnv } from '../../src/compose.js'
import type { Docker, ExecResult } from '../../src/docker.js'
import { parsePlatforms } from '../../src/platforms.js'

const TWO = parsePlatforms(['linux/amd64', 'linux/arm64'])

const COMPOSE = `services:
  web:
    image: \${REGISTRY:-ghcr.io}/acme/web:\${TAG:-latest}
    ports: ["8080:8080"]
  db:
    image: postgres:16
  legacy:
    image: acme/legacy:1
    platform: linux/amd64
  worker:
    build: ./worker
    image: acme/worker:dev
  sidecar:
    build:
      context: ./sidecar
  broken:
    image: \${MISSING}
`

describe('interpolate', () => {
  const env = { A: 'a', EMPTY: '' }
  test.each<[string, string]>([
    ['${A}', 'a'],
    ['$A/x', 'a/x'],
    ['${NOPE:-d}', 'd'],
    ['${EMPTY:-d}', 'd'],
    ['${EMPTY-d}', ''],
    ['${A:+set}', 'set'],
    ['${NOPE+set}', ''],
    ['${NOPE:-${A}-x}', 'a-x'],
    ['$$A', '$A'],
    ['${NOPE}', '']
  ])('%s', (text, expected) => {
    expect(interpolate(text, env)).toBe(expected)
  })
})

describe('parseCompose', () => {
  test('images with their platform; built services and incomplete names are notes', () => {
    expect(parseCompose(COMPOSE, { TAG: '1.4.0' })).toEqual({
      images: [
        { service: 'web', image: 'ghcr.io/acme/web:1.4.0' },
        { service: 'db', image: 'postgres:16' },
        { service: 'legacy', image: 'acme/legacy:1', platform: 'linux/amd64' }
      ],
      notes: [
        'worker: built from source (build:), not pulled; skipped',
        'sidecar: built from source (build:), not pulled; skipped',
        'broken: image "${MISSING}" is incomplete once its variables are substituted (""), skipped'
      ]
    })
  })

  test('not a compose file', () => {
    expect(() => parseCompose('version: "3"\n', {}, 'compose.yaml')).toThrow('compose.yaml has no services map: expected a docker-compose file with "services:"')
    expect(() => parseCompose('services: [\n', {}, 'compose.yaml')).toThrow(/^compose\.yaml is not valid YAML at line \d+/)
  })
})

describe('parseDotEnv', () => {
  test('comments, export, quotes, trailing comments', () => {
    expect(parseDotEnv('# c\nexport A=1\nB = "two words"\nC=\'$raw\'\nD=x # note\n\nbad line\n')).toEqual({ A: '1', B: 'two words', C: '$raw', D: 'x' })
  })
})

describe('composeReportOf', () => {
  const parsed = parseCompose(COMPOSE, {})
  test('a table per requested platform; a gap fails; a pinned platform is checked alone', () => {
    const lookups = new Map([
      ['ghcr.io/acme/web:latest', { platforms: ['linux/amd64', 'linux/arm64'] }],
      ['postgres:16', { platforms: ['linux/amd64'] }],
      ['acme/legacy:1', { platforms: ['linux/amd64'] }]
    ])
    const report = composeReportOf(parsed, TWO, lookups)
    expect(report.ok).toBe(false)
    expect(report.problems).toEqual(['service db: postgres:16 has no linux/arm64 image (it has linux/amd64)'])
    expect(report.markdown).toBe(
      [
        '| service | image | linux/amd64 | linux/arm64 |',
        '| --- | --- | --- | --- |',
        '| web | `ghcr.io/acme/web:latest` | yes | yes |',
        '| db | `postgres:16` | yes | **missing** |',
        '| legacy | `acme/legacy:1` | yes | n/a (platform: linux/amd64) |',
        '',
        '- worker: built from source (build:), not pulled; skipped',
        '- sidecar: built from source (build:), not pulled; skipped',
        '- broken: image "${MISSING}" is incomplete once its variables are substituted (""), skipped'
      ].join('\n')
    )
    expect(report.text).toBe(
      [
        'service  image                    linux/amd64  linux/arm64',
        'web      ghcr.io/acme/web:latest  yes          yes',
        'db       postgres:16              yes          missing',
        'legacy   acme/legacy:1            yes          n/a (platform: linux/amd64)'
      ].join('\n')
    )
  })

  test('a pinned platform outside the requested ones gets its own column', () => {
    const report = composeReportOf(
      parseCompose('services:\n  a:\n    image: x:1\n    platform: linux/s390x\n'),
      TWO,
      new Map([['x:1', { platforms: ['linux/amd64'] }]])
    )
    expect(report.services[0]!.missing).toEqual(['linux/s390x'])
    expect(report.text).toBe(
      ['service  image  linux/amd64                  linux/arm64                  linux/s390x', 'a        x:1    n/a (platform: linux/s390x)  n/a (platform: linux/s390x)  missing'].join('\n')
    )
  })

  test('a failed lookup is a warning and a "?"', () => {
    const report = composeReportOf(parseCompose('services:\n  a:\n    image: x:1\n'), TWO, new Map([['x:1', { platforms: [], error: 'denied' }]]))
    expect(report.ok).toBe(true)
    expect(report.warnings).toEqual(['service a: could not look up the platforms of x:1: denied'])
    expect(report.text).toBe('service  image  linux/amd64  linux/arm64\na        x:1    ?            ?')
  })
})

describe('composeReport', () => {
  const index = JSON.stringify({
    manifests: [
      { digest: 'sha256:1', platform: { os: 'linux', architecture: 'amd64' } },
      { digest: 'sha256:2', platform: { os: 'linux', architecture: 'arm64' } }
    ]
  })
  class Docker2 implements Docker {
    calls: string[][] = []
    async run(): Promise<ExecResult> {
      throw new Error('no docker run expected')
    }
    async buildx(args: string[]): Promise<ExecResult> {
      this.calls.push(args)
      return { exitCode: 0, stdout: index, stderr: '' }
    }
  }

  test('one lookup per distinct image', async () => {
    const docker = new Docker2()
    const report = await composeReport(docker, 'services:\n  a:\n    image: x:1\n  b:\n    image: x:1\n', TWO)
    expect(report.ok).toBe(true)
    expect(docker.calls).toEqual([['imagetools', 'inspect', '--raw', 'x:1']])
  })

  test('a file on disk uses the .env beside it, the environment winning', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'compose-'))
    try {
      writeFileSync(path.join(dir, 'compose.yaml'), 'services:\n  a:\n    image: ${IMG}:${MR_COMPOSE_TEST_TAG}\n')
      writeFileSync(path.join(dir, '.env'), 'IMG=acme/a\nMR_COMPOSE_TEST_TAG=from-dotenv\n')
      process.env.MR_COMPOSE_TEST_TAG = 'from-env'
      const docker = new Docker2()
      const report = await composeFileReport(docker, path.join(dir, 'compose.yaml'), TWO)
      expect(report.services.map(s => s.image)).toEqual(['acme/a:from-env'])
    } finally {
      delete process.env.MR_COMPOSE_TEST_TAG
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
