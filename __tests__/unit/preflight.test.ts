import { readFileSync } from 'node:fs'
import type { Docker, ExecResult, RunOptions } from '../../src/docker.js'
import { parseDockerfile } from '../../src/dockerfile.js'
import { parsePlatforms, type Platform } from '../../src/platforms.js'
import {
  baseImageNeeds,
  baseImageReport,
  baseImageReportOf,
  checkImages,
  configPlatform,
  emulationPlan,
  fixedArchitectures,
  hardcodedArchWarnings,
  imagePlatforms,
  mapLimit,
  markdownTable,
  parseRawManifest,
  provides,
  textTable
} from '../../src/preflight.js'

const BUILDX = new URL('../fixtures/buildx/', import.meta.url)
const VERIFY = new URL('../fixtures/verify/', import.meta.url)
const fixture = (dir: URL, name: string): string => readFileSync(new URL(name, dir), 'utf8')

const AMD64: Platform = { os: 'linux', architecture: 'amd64' }
const ARM64: Platform = { os: 'linux', architecture: 'arm64' }
const TWO = parsePlatforms(['linux/amd64', 'linux/arm64'])
const THREE = parsePlatforms(['linux/amd64', 'linux/arm64', 'linux/arm/v7'])

const CROSS_COMPILE = `ARG GO_VERSION=1.22
FROM --platform=$BUILDPLATFORM golang:\${GO_VERSION} AS build
ARG TARGETOS TARGETARCH
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app .
FROM alpine:3.20
COPY --from=build /out/app /app
`

const EMULATED = `FROM alpine:3.20 AS deps
RUN apk add --no-cache ca-certificates
FROM deps
COPY app /app
`

/** A docker CLI stand-in answering imagetools calls from captured output. */
class FakeDocker implements Docker {
  readonly calls: string[][] = []
  constructor(private readonly answers: Record<string, Partial<ExecResult>>) {}
  async run(args: string[], _options?: RunOptions): Promise<ExecResult> {
    return this.answer(args)
  }
  async buildx(args: string[], _options?: RunOptions): Promise<ExecResult> {
    return this.answer(['buildx', ...args])
  }
  private answer(args: string[]): ExecResult {
    this.calls.push(args)
    const found = this.answers[args.join(' ')]
    if (!found) return { exitCode: 1, stdout: '', stderr: `ERROR: ${args.at(-1)}: not found\n` }
    return { exitCode: 0, stdout: '', stderr: '', ...found }
  }
}

describe('parseRawManifest on captured imagetools --raw output', () => {
  test.each<[string, URL, string, ReturnType<typeof parseRawManifest>]>([
    ['OCI index with attestations', BUILDX, 'attestations.raw.json', { kind: 'index', platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'] }],
    ['Docker manifest list', BUILDX, 'manifest-list.raw.json', { kind: 'index', platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'] }],
    ['single manifest', BUILDX, 'single.raw.json', { kind: 'manifest' }],
    ['index of one manifest', VERIFY, 'one-entry-index.raw.json', { kind: 'index', platforms: ['linux/amd64'] }]
  ])('%s', (_name, dir, file, expected) => {
    expect(parseRawManifest(fixture(dir, file))).toEqual(expected)
  })

  test('arm64/v8 and a variant-less arm entry are normalized; duplicates collapse', () => {
    const raw = JSON.stringify({
      manifests: [
        { digest: 'sha256:a', platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
        { digest: 'sha256:b', platform: { os: 'linux', architecture: 'arm' } },
        { digest: 'sha256:c', platform: { os: 'linux', architecture: 'arm64' } }
      ]
    })
    expect(parseRawManifest(raw)).toEqual({ kind: 'index', platforms: ['linux/arm64', 'linux/arm/v7'] })
  })

  test('a schema 1 manifest names its architecture', () => {
    expect(parseRawManifest('{"schemaVersion":1,"architecture":"arm64","fsLayers":[]}')).toEqual({ kind: 'index', platforms: ['linux/arm64'] })
  })

  test('garbage', () => {
    expect(() => parseRawManifest('<html>')).toThrow('not a JSON manifest: <html>')
    expect(() => parseRawManifest('{"schemaVersion":2}')).toThrow('neither an image index nor an image manifest: {"schemaVersion":2}')
  })
})

describe('configPlatform', () => {
  test('captured config of a single manifest', () => {
    expect(configPlatform(fixture(VERIFY, 'single.image.json'))).toBe('linux/amd64')
  })
  test('a config with a variant', () => {
    expect(configPlatform('{"os":"linux","architecture":"arm","variant":"v6"}')).toBe('linux/arm/v6')
  })
  test('a map of configs is no single config', () => {
    expect(() => configPlatform(fixture(VERIFY, 'attestations.image.json'))).toThrow('an image config without os and architecture')
  })
})

describe('imagePlatforms', () => {
  test('an index: one call', async () => {
    const docker = new FakeDocker({ 'buildx imagetools inspect --raw busybox:1.36': { stdout: fixture(BUILDX, 'attestations.raw.json') } })
    expect(await imagePlatforms(docker, 'busybox:1.36')).toEqual({ platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'] })
    expect(docker.calls).toEqual([['buildx', 'imagetools', 'inspect', '--raw', 'busybox:1.36']])
  })

  test('a single manifest: its config says the platform', async () => {
    const docker = new FakeDocker({
      'buildx imagetools inspect --raw r/app:1': { stdout: fixture(BUILDX, 'single.raw.json') },
      'buildx imagetools inspect --format {{json .Image}} r/app:1': { stdout: fixture(VERIFY, 'single.image.json') }
    })
    expect(await imagePlatforms(docker, 'r/app:1')).toEqual({ platforms: ['linux/amd64'] })
    expect(docker.calls).toHaveLength(2)
  })

  test('a failed lookup carries the tail of the error', async () => {
    expect(await imagePlatforms(new FakeDocker({}), 'r/none:1')).toEqual({ platforms: [], error: 'ERROR: r/none:1: not found' })
  })
})

describe('provides', () => {
  test.each<[string, string, boolean]>([
    ['linux/amd64', 'linux/amd64', true],
    ['linux/amd64', 'linux/amd64/v3', true],
    ['linux/amd64/v3', 'linux/amd64', false],
    ['linux/amd64', 'linux/386', false],
    ['linux/arm/v6', 'linux/arm/v7', true],
    ['linux/arm/v7', 'linux/arm/v6', false],
    ['linux/arm', 'linux/arm/v7', true],
    ['linux/arm64/v8', 'linux/arm64', true],
    ['linux/arm64', 'linux/arm64/v8.2', true],
    ['linux/arm64', 'linux/arm/v7', false],
    ['linux/s390x', 'linux/s390x', true],
    ['windows/amd64', 'linux/amd64', false]
  ])('%s serves %s: %s', (has, wanted, expected) => {
    expect(provides(has, wanted)).toBe(expected)
  })
})

describe('baseImageNeeds', () => {
  test('cross-compile: the build image only for the host, the runtime image for every platform', () => {
    expect(baseImageNeeds(parseDockerfile(CROSS_COMPILE), THREE, AMD64)).toEqual([
      { image: 'golang:1.22', platforms: ['linux/amd64'], lines: [2] },
      { image: 'alpine:3.20', platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'], lines: [5] }
    ])
  })

  test('a fixed --platform stage needs just its platform; COPY --from images count; unreachable stages do not', () => {
    const text = [
      'FROM --platform=linux/amd64 busybox:1.36 AS tools',
      'FROM debian:bookworm AS unused',
      'FROM alpine:3.20',
      'COPY --from=tools /bin/busybox /bin/',
      'COPY --from=nginx:1.27 /etc/nginx/mime.types /etc/',
      'FROM alpine:3.20 AS again',
      'COPY --from=2 / /',
      ''
    ].join('\n')
    expect(baseImageNeeds(parseDockerfile(text), TWO, ARM64)).toEqual([
      { image: 'busybox:1.36', platforms: ['linux/amd64'], lines: [1] },
      { image: 'alpine:3.20', platforms: ['linux/amd64', 'linux/arm64'], lines: [3, 6] },
      { image: 'nginx:1.27', platforms: ['linux/amd64', 'linux/arm64'], lines: [5] }
    ])
  })

  test('an image named after TARGETARCH is one image per platform', () => {
    const df = parseDockerfile('FROM ghcr.io/acme/base-${TARGETARCH}:1\n')
    expect(baseImageNeeds(df, TWO, AMD64)).toEqual([
      { image: 'ghcr.io/acme/base-amd64:1', platforms: ['linux/amd64'], lines: [1] },
      { image: 'ghcr.io/acme/base-arm64:1', platforms: ['linux/arm64'], lines: [1] }
    ])
  })
})

describe('base image report', () => {
  const needs = baseImageNeeds(parseDockerfile(CROSS_COMPILE), TWO, AMD64)

  test('an image lacking a platform fails, names itself, the platform and the line', () => {
    const lookups = new Map([
      ['golang:1.22', { platforms: ['linux/amd64', 'linux/arm64'] }],
      ['alpine:3.20', { platforms: ['linux/amd64'] }]
    ])
    const report = baseImageReportOf(checkImages(needs, lookups))
    expect(report.ok).toBe(false)
    expect(report.problems).toEqual([
      {
        line: 5,
        message:
          'alpine:3.20 has no linux/arm64 image (it has linux/amd64): the build pulls it for linux/amd64, linux/arm64 (line 5). ' +
          'Pick a base image or tag published for every platform, or drop the platforms it lacks.'
      }
    ])
    expect(report.warnings).toEqual([])
    expect(report.markdown).toBe(
      [
        '| base image | platforms it has | missing | Dockerfile line |',
        '| --- | --- | --- | --- |',
        '| `golang:1.22` | linux/amd64, linux/arm64 | - | 2 |',
        '| `alpine:3.20` | linux/amd64 | **linux/arm64** | 5 |'
      ].join('\n')
    )
    expect(report.text).toBe(
      [
        'base image   platforms it has          missing      line',
        'golang:1.22  linux/amd64, linux/arm64  -            2',
        'alpine:3.20  linux/amd64               linux/arm64  5'
      ].join('\n')
    )
  })

  test('a failed lookup warns but does not fail; an empty image name warns with its line', () => {
    const lookups = new Map([
      ['golang:1.22', { platforms: [], error: 'ERROR: golang:1.22: not found' }],
      ['alpine:3.20', { platforms: ['linux/amd64', 'linux/arm64', 'linux/arm/v7'] }]
    ])
    const report = baseImageReportOf(checkImages(needs, lookups), [7])
    expect(report.ok).toBe(true)
    expect(report.problems).toEqual([])
    expect(report.warnings).toEqual([
      { line: 2, message: 'could not look up the platforms of golang:1.22: ERROR: golang:1.22: not found' },
      { line: 7, message: 'the image name expands to nothing: an ARG it uses has no default and no build-arg' }
    ])
    expect(report.images[0]).toEqual({
      image: 'golang:1.22',
      needs: ['linux/amd64'],
      has: [],
      missing: [],
      lines: [2],
      error: 'ERROR: golang:1.22: not found'
    })
  })

  test('baseImageReport makes one lookup per distinct image', async () => {
    const text = 'FROM busybox:1.36 AS a\nRUN true\nFROM busybox:1.36\nCOPY --from=a / /\n'
    const docker = new FakeDocker({ 'buildx imagetools inspect --raw busybox:1.36': { stdout: fixture(VERIFY, 'one-entry-index.raw.json') } })
    const report = await baseImageReport(docker, parseDockerfile(text), TWO, AMD64)
    expect(docker.calls).toEqual([['buildx', 'imagetools', 'inspect', '--raw', 'busybox:1.36']])
    expect(report.images).toEqual([{ image: 'busybox:1.36', needs: ['linux/amd64', 'linux/arm64'], has: ['linux/amd64'], missing: ['linux/arm64'], lines: [1, 3] }])
    expect(report.ok).toBe(false)
  })
})

describe('fixedArchitectures', () => {
  test.each<[string, Array<{ arch: string; word: string }>]>([
    ['curl -fsSL https://example.com/tool_linux_amd64.tar.gz | tar xz', [{ arch: 'amd64', word: 'https://example.com/tool_linux_amd64.tar.gz' }]],
    ['curl -fsSL https://example.com/tool_linux_${TARGETARCH}.tar.gz | tar xz', []],
    ['curl -o /t.tgz https://example.com/tool-${ARCH:-x86_64}.tgz', []],
    ['curl https://example.com/$TARGETARCH/tool.tgz', []],
    ['wget https://example.com/$(uname -m)/tool.tgz', []],
    ['https://github.com/o/r/releases/download/v1/tool-aarch64 /usr/bin/tool', [{ arch: 'aarch64', word: 'https://github.com/o/r/releases/download/v1/tool-aarch64' }]],
    ['--from=build /usr/lib/x86_64-linux-gnu/libssl.so.3 /usr/lib/', [{ arch: 'x86_64', word: '/usr/lib/x86_64-linux-gnu/libssl.so.3' }]],
    ['case "$TARGETARCH" in amd64) A=x86_64 ;; arm64) A=aarch64 ;; esac', []],
    ['dpkg --add-architecture i386', []],
    ['docker pull --platform linux/arm64 example/app:1', []],
    ['--platform=linux/amd64 x', []],
    ['echo amd64 > /etc/arch', []],
    ['app-armv7l.bin /app', [{ arch: 'armv7l', word: 'app-armv7l.bin' }]],
    ['install bin/linux-ppc64le/tool /usr/bin/', [{ arch: 'ppc64le', word: 'bin/linux-ppc64le/tool' }]],
    ['"https://dl.example/node-v20-linux-x86-64.tar.xz"', [{ arch: 'x86-64', word: 'https://dl.example/node-v20-linux-x86-64.tar.xz' }]],
    ['curl https://example.com/amd64x/tool https://example.com/xamd64/tool', []],
    ['https://example.com/${VERSION}/tool-i686.zip /t.zip', [{ arch: 'i686', word: 'https://example.com/${…}/tool-i686.zip' }]]
  ])('%s', (args, expected) => {
    expect(fixedArchitectures(args)).toEqual(expected)
  })
})

describe('hardcodedArchWarnings', () => {
  const text = [
    'FROM --platform=$BUILDPLATFORM golang:1.22 AS build',
    'RUN curl -fsSLO https://go.dev/dl/go1.22.linux-amd64.tar.gz',
    'FROM alpine:3.20',
    'ARG TARGETARCH',
    'RUN curl -fsSL https://example.com/tool_linux_amd64.tar.gz \\',
    '    | tar -xz -C /usr/local/bin',
    'ADD https://example.com/tool-${TARGETARCH} /usr/local/bin/tool',
    'COPY --from=build /usr/lib/x86_64-linux-gnu/libfoo.so /usr/lib/',
    ''
  ].join('\n')
  const df = parseDockerfile(text)

  test('two platforms: each fixed arch in a target-platform stage, with line and a TARGETARCH hint', () => {
    expect(hardcodedArchWarnings(df, TWO, AMD64)).toEqual([
      {
        line: 5,
        text: 'RUN curl -fsSL https://example.com/tool_linux_amd64.tar.gz | tar -xz -C /usr/local/bin',
        arch: 'amd64',
        word: 'https://example.com/tool_linux_amd64.tar.gz',
        message:
          'RUN in stage #1 names the fixed architecture "amd64" in https://example.com/tool_linux_amd64.tar.gz, ' +
          'but the stage is built for linux/amd64, linux/arm64: linux/arm64 would get the amd64 file. ' +
          'Declare ARG TARGETARCH in the stage and write ${TARGETARCH} instead.'
      },
      {
        line: 8,
        text: 'COPY --from=build /usr/lib/x86_64-linux-gnu/libfoo.so /usr/lib/',
        arch: 'x86_64',
        word: '/usr/lib/x86_64-linux-gnu/libfoo.so',
        message:
          'COPY in stage #1 names the fixed architecture "x86_64" in /usr/lib/x86_64-linux-gnu/libfoo.so, ' +
          'but the stage is built for linux/amd64, linux/arm64: linux/arm64 would get the x86_64 file. ' +
          'Declare ARG TARGETARCH in the stage and write ${TARGETARCH} instead (TARGETARCH says amd64; map it where the file names spell it x86_64).'
      }
    ])
  })

  test('one platform of the same architecture: nothing to warn about', () => {
    expect(hardcodedArchWarnings(df, [AMD64], AMD64)).toEqual([])
  })

  test('one platform of another architecture: the amd64 file is wrong there too', () => {
    expect(hardcodedArchWarnings(df, [ARM64], AMD64).map(w => [w.line, w.arch])).toEqual([
      [5, 'amd64'],
      [8, 'x86_64']
    ])
  })

  test('a stage picked per architecture may name its own architecture', () => {
    const perArch = [
      'FROM alpine:3.20 AS fetch-amd64',
      'ADD https://example.com/tool-x86_64.tar.gz /tmp/',
      'FROM alpine:3.20 AS fetch-arm64',
      'ADD https://example.com/tool-aarch64.tar.gz /tmp/',
      'FROM fetch-${TARGETARCH}',
      ''
    ].join('\n')
    expect(hardcodedArchWarnings(parseDockerfile(perArch), TWO, AMD64)).toEqual([])
  })
})

describe('emulationPlan', () => {
  test('cross-compile: no RUN on a foreign platform, nothing to emulate', () => {
    expect(emulationPlan(parseDockerfile(CROSS_COMPILE), THREE, AMD64)).toEqual({
      platforms: [],
      stages: [],
      lines: ["No RUN step executes on a platform other than the host's (linux/amd64): no emulator is needed to build."]
    })
  })

  test('RUN in a target-platform stage is emulated for each foreign platform', () => {
    expect(emulationPlan(parseDockerfile(EMULATED), THREE, AMD64)).toEqual({
      platforms: [ARM64, { os: 'linux', architecture: 'arm', variant: 'v7' }],
      stages: [{ index: 0, label: 'deps', line: 1, runs: 1, platforms: ['linux/arm64', 'linux/arm/v7'] }],
      lines: ['stage deps (line 1): 1 RUN step emulated for linux/arm64, linux/arm/v7']
    })
  })

  test('on an arm64 host amd64 is the foreign one; 386 is native to amd64', () => {
    expect(emulationPlan(parseDockerfile(EMULATED), TWO, ARM64).platforms).toEqual([AMD64])
    expect(emulationPlan(parseDockerfile(EMULATED), parsePlatforms(['linux/amd64', 'linux/386']), AMD64).platforms).toEqual([])
  })

  test('a fixed --platform stage with RUN needs its platform emulated though nobody requested it', () => {
    const text = 'FROM --platform=linux/arm64 alpine AS gen\nRUN ./generate > /out\nFROM scratch\nCOPY --from=gen /out /out\n'
    const plan = emulationPlan(parseDockerfile(text), [AMD64], AMD64)
    expect(plan.platforms).toEqual([ARM64])
    expect(plan.lines).toEqual(['stage gen (line 1): 1 RUN step emulated for linux/arm64'])
  })
})

describe('helpers', () => {
  test('mapLimit keeps order and never runs more than the limit', async () => {
    let running = 0
    let peak = 0
    const out = await mapLimit([5, 1, 4, 2, 3], 2, async n => {
      running++
      peak = Math.max(peak, running)
      await new Promise(resolve => setTimeout(resolve, n * 3))
      running--
      return n * 10
    })
    expect(out).toEqual([50, 10, 40, 20, 30])
    expect(peak).toBe(2)
  })

  test('mapLimit rejects with the first failure', async () => {
    await expect(mapLimit([1, 2, 3], 3, async n => {
      if (n === 2) throw new Error('two')
      return n
    })).rejects.toThrow('two')
  })

  test('markdown escapes pipes; text pads all but the last column', () => {
    expect(markdownTable(['a', 'b'], [['x|y', 'z']], [0])).toBe('| a | b |\n| --- | --- |\n| `x\\|y` | z |')
    expect(textTable(['name', 'v'], [['a', '1'], ['long', '22']])).toBe('name  v\na     1\nlong  22')
  })
})
