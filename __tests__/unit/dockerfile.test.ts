import { expandWord, externalImages, parseDockerfile, parseInstructions, platformArgs, splitWords, stagesFor, type Dockerfile } from '../../src/dockerfile.js'
import { InputError } from '../../src/errors.js'
import { formatPlatform, type Platform } from '../../src/platforms.js'

const AMD64: Platform = { os: 'linux', architecture: 'amd64' }
const ARM64: Platform = { os: 'linux', architecture: 'arm64' }
const ARMV7: Platform = { os: 'linux', architecture: 'arm', variant: 'v7' }

// A Go service cross-compiled on the build platform, copied into a small runtime image.
const CROSS_COMPILE = `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
ARG ALPINE=alpine:3.20

FROM --platform=$BUILDPLATFORM golang:\${GO_VERSION}-alpine AS build
ARG TARGETOS TARGETARCH
WORKDIR /src
COPY . .
RUN GOOS=$TARGETOS GOARCH=$TARGETARCH go build -o /out/app ./cmd/app

FROM \${ALPINE} AS runtime
COPY --from=build /out/app /usr/local/bin/app
ENTRYPOINT ["app"]
`

// Stages by index and name, an unreachable test stage, scratch, and an image in COPY --from.
const MULTI_STAGE = `FROM debian:bookworm-slim AS deps
RUN apt-get update && apt-get install -y ca-certificates

FROM deps AS test
RUN make test

FROM golang:1.22 AS build
RUN --mount=type=cache,target=/root/.cache/go-build,from=deps go build -o /app .

FROM scratch AS final
COPY --from=0 /etc/ssl/certs /etc/ssl/certs
COPY --from=build /app /app
COPY --from=nginx:1.27 /etc/nginx/mime.types /etc/mime.types
`

// Everything the lexer has to get right: escape directive, continuations, comments inside
// them, heredocs whose bodies look like instructions, lower-case keywords.
const LEXER = `# escape=\`
# syntax=docker/dockerfile:1

from --platform=linux/amd64 \`
    busybox:1.36 as Tools
# a comment
run <<EOF
FROM not-a-stage
EOF
RUN echo one \`
  # dropped comment

  two
COPY <<-"END" /x
	FROM also-not-a-stage
	END
FROM tools
`

function parse(text: string, options: Parameters<typeof parseDockerfile>[1] = {}): Dockerfile {
  return parseDockerfile(text, options)
}

describe('parseInstructions', () => {
  test('joins continuations, drops comments, skips heredoc bodies, honours the escape directive', () => {
    const { instructions, directives, escape } = parseInstructions(LEXER)
    expect(directives).toEqual({ escape: '`', syntax: 'docker/dockerfile:1' })
    expect(escape).toBe('`')
    expect(instructions.map(i => [i.keyword, i.args, i.line, i.endLine, i.heredocs])).toEqual([
      ['FROM', '--platform=linux/amd64     busybox:1.36 as Tools', 4, 5, []],
      ['RUN', '<<EOF', 7, 9, ['EOF']],
      ['RUN', 'echo one   two', 10, 13, []],
      ['COPY', '<<-"END" /x', 14, 16, ['END']],
      ['FROM', 'tools', 17, 17, []]
    ])
  })

  test('a directive after a comment is a comment, and a repeated one ends the directives', () => {
    expect(parseInstructions('# hello\n# escape=`\nFROM a\n').directives).toEqual({})
    expect(parseInstructions('# syntax=a\n# syntax=b\nFROM a\n').directives).toEqual({ syntax: 'a' })
    expect(parseInstructions('# SYNTAX = x \nFROM a\n').directives).toEqual({ syntax: 'x' })
  })

  test('CRLF line ends and a byte order mark', () => {
    const { instructions } = parseInstructions('\uFEFFFROM a \\\r\n  AS b\r\nRUN x\r\n')
    expect(instructions.map(i => [i.keyword, i.args, i.line])).toEqual([
      ['FROM', 'a   AS b', 1],
      ['RUN', 'x', 3]
    ])
  })
})

describe('splitWords', () => {
  test.each<[string, string[]]>([
    ['a b  c', ['a', 'b', 'c']],
    ['A="x y" B=\'1 2\'', ['A="x y"', "B='1 2'"]],
    ['x\\ y z', ['x\\ y', 'z']],
    ['', []]
  ])('%j', (input, words) => {
    expect(splitWords(input)).toEqual(words)
  })
})

describe('expandWord', () => {
  const vars = new Map<string, string | undefined>([
    ['NAME', 'app'],
    ['EMPTY', ''],
    ['DECLARED', undefined]
  ])
  test.each<[string, string]>([
    ['$NAME', 'app'],
    ['${NAME}', 'app'],
    ['$NAME:latest', 'app:latest'],
    ['${NAME}_x', 'app_x'],
    ['${UNSET}', ''],
    ['${UNSET:-busybox}', 'busybox'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${EMPTY-fallback}', ''],
    ['${DECLARED-fallback}', 'fallback'],
    ['${NAME:-other}', 'app'],
    ['${NAME:+set}', 'set'],
    ['${EMPTY:+set}', ''],
    ['${EMPTY+set}', 'set'],
    ['${UNSET:-${NAME}-2}', 'app-2'],
    ['"quoted $NAME"', 'quoted app'],
    ["'$NAME'", '$NAME'],
    ['\\$NAME', '$NAME'],
    ['cost$', 'cost$']
  ])('%s', (word, expected) => {
    expect(expandWord(word, vars)).toBe(expected)
  })
})

describe('parseDockerfile', () => {
  test('cross-compiling Dockerfile: global ARGs, $BUILDPLATFORM stage, COPY --from a stage', () => {
    const df = parse(CROSS_COMPILE)
    expect(df.globalArgs).toEqual([
      { name: 'GO_VERSION', rawDefault: '1.22', line: 2 },
      { name: 'ALPINE', rawDefault: 'alpine:3.20', line: 3 }
    ])
    expect(
      df.stages.map(s => ({ line: s.line, name: s.name, image: s.image, base: s.base, runsOn: s.runsOn, platform: s.platform, runs: s.runs.map(r => r.line) }))
    ).toEqual([
      { line: 5, name: 'build', image: 'golang:1.22-alpine', base: 'external', runsOn: 'build', platform: '${BUILDPLATFORM}', runs: [9] },
      { line: 11, name: 'runtime', image: 'alpine:3.20', base: 'external', runsOn: 'target', platform: undefined, runs: [] }
    ])
    expect(df.stages[1]!.refs).toEqual([{ line: 12, via: 'COPY --from', raw: 'build', value: 'build', stages: [0] }])
    expect(df.target).toBe(1)
    expect(df.reachable).toEqual([0, 1])
  })

  test('build-args override global ARG defaults; undeclared build-args do not reach FROM', () => {
    const df = parse(CROSS_COMPILE, { buildArgs: ['GO_VERSION=1.23', 'ALPINE=alpine:edge', 'OTHER=x'] })
    expect(df.stages.map(s => s.image)).toEqual(['golang:1.23-alpine', 'alpine:edge'])
    expect(parse('FROM ${OTHER:-busybox}\n', { buildArgs: ['OTHER=x'] }).stages[0]!.image).toBe('busybox')
  })

  test('a bare build-arg name takes its value from the environment, as buildx does', () => {
    const df = parse(CROSS_COMPILE, { buildArgs: ['GO_VERSION', 'ALPINE'], env: { GO_VERSION: '1.21' } })
    expect(df.stages.map(s => s.image)).toEqual(['golang:1.21-alpine', 'alpine:3.20'])
  })

  test('ARG defaults build on earlier ARGs, quotes and ${VAR:-default} included', () => {
    const text = [
      'ARG REGISTRY',
      'ARG VERSION',
      'ARG NAME=app TAG=${VERSION:-1.0}',
      'ARG FULL="${REGISTRY:-docker.io}/library/${NAME}:${TAG}"',
      'FROM $FULL AS one',
      'FROM ${REGISTRY-mirror.example}/x AS two',
      ''
    ].join('\n')
    expect(parse(text).stages.map(s => s.image)).toEqual(['docker.io/library/app:1.0', 'mirror.example/x'])
    expect(parse(text, { buildArgs: ['REGISTRY=ghcr.io', 'VERSION=2.1'] }).stages.map(s => s.image)).toEqual([
      'ghcr.io/library/app:2.1',
      'ghcr.io/x'
    ])
    expect(parse(text, { buildArgs: ['REGISTRY='] }).stages.map(s => s.image)).toEqual(['docker.io/library/app:1.0', '/x'])
  })

  test('stages by name and index, scratch, an image in COPY --from, a RUN --mount from a stage', () => {
    const df = parse(MULTI_STAGE)
    expect(df.stages.map(s => [s.name, s.base, s.baseStages, s.image])).toEqual([
      ['deps', 'external', [], 'debian:bookworm-slim'],
      ['test', 'stage', [0], 'deps'],
      ['build', 'external', [], 'golang:1.22'],
      ['final', 'scratch', [], 'scratch']
    ])
    expect(df.stages[2]!.refs).toEqual([{ line: 8, via: 'RUN --mount', raw: 'deps', value: 'deps', stages: [0] }])
    expect(df.stages[3]!.refs).toEqual([
      { line: 11, via: 'COPY --from', raw: '0', value: '0', stages: [0] },
      { line: 12, via: 'COPY --from', raw: 'build', value: 'build', stages: [2] },
      { line: 13, via: 'COPY --from', raw: 'nginx:1.27', value: 'nginx:1.27', stages: [] }
    ])
    expect(df.target).toBe(3)
    expect(df.reachable).toEqual([0, 2, 3])
  })

  test('target picks the stage, case-insensitively, and what it needs', () => {
    const df = parse(MULTI_STAGE, { target: 'Test' })
    expect(df.target).toBe(1)
    expect(df.reachable).toEqual([0, 1])
  })

  test('an unknown target names the input and the stages', () => {
    expect(() => parse(MULTI_STAGE, { target: 'release', file: 'docker/Dockerfile' })).toThrow(
      new InputError('target', '"release" is not a stage of docker/Dockerfile: its stages are deps, test, build, final')
    )
  })

  test('a Dockerfile without FROM', () => {
    expect(() => parse('ARG X=1\n# nothing\n', { file: 'Dockerfile.empty' })).toThrow(
      'Dockerfile.empty has no FROM instruction: it defines no stage to build'
    )
  })

  test('lexer corner cases give two stages; a stage built on a fixed-platform stage keeps its platform', () => {
    const df = parse(LEXER)
    expect(df.stages.map(s => [s.line, s.name, s.image, s.base, s.baseStages, s.runsOn, s.fixedPlatform, s.runs.length])).toEqual([
      [4, 'tools', 'busybox:1.36', 'external', [], 'fixed', 'linux/amd64', 2],
      [17, undefined, 'tools', 'stage', [0], 'fixed', 'linux/amd64', 0]
    ])
  })

  test.each<[string, string, string | undefined]>([
    ['FROM --platform=$BUILDPLATFORM a', 'build', undefined],
    ['FROM --platform=${BUILDOS}/${BUILDARCH} a', 'build', undefined],
    ['FROM --platform=$TARGETPLATFORM a', 'target', undefined],
    ['FROM --platform=linux/arm64/v8 a', 'fixed', 'linux/arm64'],
    ['ARG P=linux/arm/v6\nFROM --platform=$P a', 'fixed', 'linux/arm/v6'],
    ['ARG P=$BUILDPLATFORM\nFROM --platform=$P a', 'build', undefined],
    ['FROM a', 'target', undefined]
  ])('%j runs on %s', (text, runsOn, fixed) => {
    const [stage] = parse(text).stages
    expect([stage!.runsOn, stage!.fixedPlatform]).toEqual([runsOn, fixed])
  })

  test('a name built from platform ARGs matches every stage it can pick', () => {
    const text = [
      'FROM alpine:3.20 AS fetch-amd64',
      'ADD https://example.com/tool-x86_64.tar.gz /tmp/',
      'FROM alpine:3.20 AS fetch-arm64',
      'ADD https://example.com/tool-aarch64.tar.gz /tmp/',
      'FROM fetch-${TARGETARCH} AS fetch',
      'FROM ghcr.io/acme/base-${TARGETARCH}:1',
      'COPY --from=fetch-$TARGETARCH /tmp /tmp',
      ''
    ].join('\n')
    const df = parse(text)
    expect(df.stages.map(s => [s.base, s.baseStages, s.image, s.imagePlatformArgs])).toEqual([
      ['external', [], 'alpine:3.20', []],
      ['external', [], 'alpine:3.20', []],
      ['stage', [0, 1], 'fetch-${TARGETARCH}', ['TARGETARCH']],
      ['external', [], 'ghcr.io/acme/base-${TARGETARCH}:1', ['TARGETARCH']]
    ])
    expect(df.stages[3]!.refs[0]!.stages).toEqual([0, 1])
    // The unreachable 'fetch' stage is not what the last stage needs; both per-arch stages may be.
    expect(df.reachable).toEqual([0, 1, 3])
  })
})

describe('stagesFor', () => {
  const host = AMD64
  const summary = (df: Dockerfile, target: Platform): Array<[number, string, string[]]> =>
    stagesFor(df, target, host).map(p => [p.index, formatPlatform(p.platform), p.images.map(i => `${i.via}@${i.line} ${i.image}`)])

  test('cross-compile: the build stage runs on the host for every target', () => {
    const df = parse(CROSS_COMPILE)
    expect(summary(df, ARM64)).toEqual([
      [0, 'linux/amd64', ['FROM@5 golang:1.22-alpine']],
      [1, 'linux/arm64', ['FROM@11 alpine:3.20']]
    ])
  })

  test('platform ARGs pick the stage and the image per platform', () => {
    const text = [
      'FROM alpine:3.20 AS fetch-amd64',
      'RUN true',
      'FROM alpine:3.20 AS fetch-arm64',
      'RUN true',
      'FROM ghcr.io/acme/base-${TARGETARCH}:1',
      'COPY --from=fetch-${TARGETARCH} /tmp /tmp',
      ''
    ].join('\n')
    const df = parse(text)
    expect(summary(df, AMD64)).toEqual([
      [0, 'linux/amd64', ['FROM@1 alpine:3.20']],
      [2, 'linux/amd64', ['FROM@5 ghcr.io/acme/base-amd64:1']]
    ])
    expect(summary(df, ARM64)).toEqual([
      [1, 'linux/arm64', ['FROM@3 alpine:3.20']],
      [2, 'linux/arm64', ['FROM@5 ghcr.io/acme/base-arm64:1']]
    ])
    // No stage is called fetch-arm: BuildKit would pull an image of that name.
    expect(summary(df, ARMV7)).toEqual([[2, 'linux/arm/v7', ['FROM@5 ghcr.io/acme/base-arm:1', 'COPY --from@6 fetch-arm']]])
  })

  test('stages built on a $BUILDPLATFORM stage run on the host too', () => {
    const text = ['FROM --platform=$BUILDPLATFORM node:20 AS base', 'FROM base AS assets', 'RUN npm ci', 'FROM nginx:1.27', 'COPY --from=assets /dist /usr/share/nginx/html', ''].join(
      '\n'
    )
    expect(summary(parse(text), ARMV7)).toEqual([
      [0, 'linux/amd64', ['FROM@1 node:20']],
      [1, 'linux/amd64', []],
      [2, 'linux/arm/v7', ['FROM@4 nginx:1.27']]
    ])
  })

  test('scratch and a COPY --from image', () => {
    expect(summary(parse(MULTI_STAGE), ARM64)).toEqual([
      [0, 'linux/arm64', ['FROM@1 debian:bookworm-slim']],
      [2, 'linux/arm64', ['FROM@7 golang:1.22']],
      [3, 'linux/arm64', ['COPY --from@13 nginx:1.27']]
    ])
  })
})

describe('platformArgs', () => {
  test('values for arm/v7 on an amd64 host', () => {
    expect(platformArgs(ARMV7, AMD64)).toEqual({
      BUILDPLATFORM: 'linux/amd64',
      BUILDOS: 'linux',
      BUILDARCH: 'amd64',
      BUILDVARIANT: '',
      TARGETPLATFORM: 'linux/arm/v7',
      TARGETOS: 'linux',
      TARGETARCH: 'arm',
      TARGETVARIANT: 'v7'
    })
  })
})

describe('externalImages', () => {
  test('the registry images of every stage, stage names, scratch and platform-dependent names left out', () => {
    const df = parseDockerfile(
      [
        'ARG BASE=127.0.0.1:5001/busybox:latest',
        'FROM --platform=$BUILDPLATFORM golang:1.23 AS build',
        'FROM build AS test',
        'FROM scratch AS empty',
        'FROM tool-${TARGETARCH} AS pick',
        'FROM ${BASE}',
        'COPY --from=build /out /out'
      ].join('\n')
    )
    expect(externalImages(df)).toEqual(['golang:1.23', '127.0.0.1:5001/busybox:latest'])
  })
})
