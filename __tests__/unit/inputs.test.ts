// readInputs against real INPUT_* variables on top of the action.yml defaults, as the runner
// sets them: every malformed input must fail with an InputError that names it, before any
// docker call; realistic input sets parse to exactly the expected settings.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DEFAULT_GITHUB_TOKEN } from '../../scripts/harness.js'
import { withInputs, type Outcome } from '../fixtures/inputs.js'
import { buildArgs } from '../../src/build.js'
import type { RunContext } from '../../src/context.js'
import { InputError } from '../../src/errors.js'
import { readInputs, type Inputs } from '../../src/inputs.js'
import { planRelease } from '../../src/plan.js'
import { buildPlan } from '../../src/publish.js'

const DIGEST = `sha256:${'a'.repeat(64)}`
const DIGEST_B = `sha256:${'b'.repeat(64)}`
const INJECTIONS = ['--output=type=local,dest=/', '$(touch /tmp/pwned)'] as const

let workspace: string

beforeAll(() => {
  workspace = mkdtempSync(path.join(os.tmpdir(), 'mr-inputs-'))
  const file = (rel: string, text = 'FROM scratch\n'): void => {
    mkdirSync(path.dirname(path.join(workspace, rel)), { recursive: true })
    writeFileSync(path.join(workspace, rel), text)
  }
  file('Dockerfile')
  file('docker/Dockerfile.release')
  file('buildkitd.toml', 'debug = true\n')
  file('deploy/compose.yaml', 'services: {}\n')
  mkdirSync(path.join(workspace, 'app'))
  // Contexts named like the injections, so their only way to fail is being read as a flag or a command.
  file('..Dockerfile')
  file('--push/Dockerfile')
  file(`${INJECTIONS[1]}/Dockerfile`)
})

afterAll(() => {
  rmSync(workspace, { recursive: true, force: true })
})

const RUN: RunContext = {
  eventName: 'push',
  ref: 'refs/tags/v1.2.3',
  sha: '0123456789abcdef0123456789abcdef01234567',
  repository: 'octo-org/hello-app',
  actor: 'octocat',
  serverUrl: 'https://github.com',
  apiUrl: 'https://api.github.com',
  runId: 42,
  runAttempt: 1,
  prerelease: false
}

function read(inputs: Record<string, string>, repository = RUN.repository): Outcome<Inputs> {
  return withInputs(inputs, () => readInputs({ workspace, repository, actor: RUN.actor }))
}

function masks(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter(line => line.startsWith('::add-mask::'))
    .map(line => line.slice('::add-mask::'.length))
}

function inputError(outcome: Outcome<unknown>): { input: string; message: string } {
  const e = outcome.error
  if (!(e instanceof InputError)) {
    throw new Error(`expected an InputError, got ${e === undefined ? `a result: ${JSON.stringify(outcome.value)}` : String(e)}`)
  }
  return { input: e.input, message: e.message }
}

const PLATFORM_FORM =
  'expected os/arch[/variant], e.g. linux/amd64, linux/arm64, linux/arm/v7; known architectures: ' +
  'amd64, arm64, arm, 386, ppc64le, ppc64, s390x, riscv64, mips64le, mips64, mipsle, mips, loong64, wasm'
const IMAGE_FORM = 'expected [registry[:port]/]path, e.g. ghcr.io/owner/app, user/app, registry.example.com:5000/team/app'
const TAG_RULE = 'a docker tag matches ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$'
const AUTH_ITEM = 'expected {registry, username, password}, each a non-empty string'
const NOT_A_BOOLEAN = 'is not a boolean: expected true or false'
const TRISTATE = 'is not allowed: expected one of auto, true, false'
const OUTSIDE = 'is outside the workspace: expected a path inside the checkout'
const BUILD_ARG_FORM = 'is not NAME=value: expected one NAME=value per line, NAME of letters, digits and _'
const SECRET_FORM = 'has a line that is not id=value: expected one id=value per line, id of letters, digits, ".", "_" and "-"'

// [what, inputs, input named, exact message]
const malformed: Array<[string, Record<string, string>, string, string]> = [
  ['unknown architecture', { platforms: 'linux/arm65' }, 'platforms', `Input "platforms": "linux/arm65" is not a platform (unknown architecture "arm65"): ${PLATFORM_FORM}`],
  ['empty platform component', { platforms: 'linux//arm64' }, 'platforms', `Input "platforms": "linux//arm64" is not a platform (empty component): ${PLATFORM_FORM}`],
  ['architecture without OS', { platforms: 'arm64' }, 'platforms', `Input "platforms": "arm64" is not a platform (no OS or no architecture): ${PLATFORM_FORM}`],
  [
    'trailing comma in platforms',
    { platforms: 'linux/amd64,' },
    'platforms',
    `Input "platforms": empty platform in the list (a stray or trailing comma?): ${PLATFORM_FORM}`
  ],
  [
    'the same platform twice, once with its default variant',
    { platforms: 'linux/arm64,linux/arm64/v8' },
    'platforms',
    'Input "platforms": "linux/arm64" and "linux/arm64/v8" are the same platform (linux/arm64); list each platform once'
  ],
  [
    'the same platform twice under an alias',
    { platforms: 'linux/x86_64,linux/amd64' },
    'platforms',
    'Input "platforms": "linux/x86_64" and "linux/amd64" are the same platform (linux/amd64); list each platform once'
  ],
  ['blank platforms', { platforms: '   ' }, 'platforms', 'Input "platforms": is empty: expected os/arch[/variant] items, e.g. linux/amd64,linux/arm64'],
  [
    'platforms separated by a space',
    { platforms: 'linux/amd64 linux/arm64' },
    'platforms',
    `Input "platforms": "linux/amd64 linux/arm64" is not a platform (contains whitespace): ${PLATFORM_FORM}`
  ],
  [
    'unknown arm variant',
    { platforms: 'linux/arm/v9' },
    'platforms',
    `Input "platforms": "linux/arm/v9" is not a platform (unknown arm variant "v9"; known: v5, v6, v7, v8): ${PLATFORM_FORM}`
  ],
  ['four platform components', { platforms: 'linux/amd64/v2/x' }, 'platforms', `Input "platforms": "linux/amd64/v2/x" is not a platform (too many components): ${PLATFORM_FORM}`],
  [
    'a quoted item keeps its comma, so two platforms in quotes are one bad item',
    { platforms: '"linux/amd64,linux/arm64"' },
    'platforms',
    `Input "platforms": "linux/amd64,linux/arm64" is not a platform (unknown architecture "amd64,linux"): ${PLATFORM_FORM}`
  ],
  [
    'unbalanced quote in platforms',
    { platforms: 'linux/amd64,"linux/arm64' },
    'platforms',
    'Input "platforms": has an unbalanced quote in "linux/amd64,"linux/arm64": expected items separated by commas or newlines, quoted with "..." when an item holds a comma'
  ],

  ['image name with a space', { images: 'Bad Name' }, 'images', `Input "images": "Bad Name" is not an image name (contains whitespace): ${IMAGE_FORM}`],
  [
    'host with two ports',
    { images: 'host:port:extra/app' },
    'images',
    `Input "images": "host:port:extra/app" is not an image name ("host:port:extra" is not a registry host): ${IMAGE_FORM}`
  ],
  ['empty path component', { images: 'ghcr.io//app' }, 'images', `Input "images": "ghcr.io//app" is not an image name (empty path component): ${IMAGE_FORM}`],
  [
    'image with a tag',
    { images: 'app:1.0' },
    'images',
    'Input "images": "app:1.0" has a tag: give the image name without one ("app"); tags come from the git ref and the tags input'
  ],
  [
    'image with a digest',
    { images: `ghcr.io/o/app@${DIGEST}` },
    'images',
    `Input "images": "ghcr.io/o/app@${DIGEST}" has a digest: give the image name without one ("ghcr.io/o/app"); tags come from the git ref and the tags input`
  ],
  ['the same image twice', { images: 'ghcr.io/o/app,ghcr.io/o/app' }, 'images', 'Input "images": lists an image twice: ghcr.io/o/app, ghcr.io/o/app'],
  [
    'the same image twice in different case',
    { images: 'ghcr.io/O/App\nGHCR.io/o/app' },
    'images',
    'Input "images": lists an image twice: ghcr.io/o/app, ghcr.io/o/app'
  ],
  ['trailing comma in images', { images: 'ghcr.io/o/app,' }, 'images', 'Input "images": has an empty item: expected image names separated by newlines or commas'],
  [
    'path component starting with a dash',
    { images: 'ghcr.io/-app' },
    'images',
    `Input "images": "ghcr.io/-app" is not an image name ("-app" is not a path component: lower-case letters and digits, separated by ".", "_", "__" or "-"): ${IMAGE_FORM}`
  ],
  [
    'a quoted pair of images is one bad name',
    { images: '"ghcr.io/o/a,ghcr.io/o/b"' },
    'images',
    `Input "images": "ghcr.io/o/a,ghcr.io/o/b" is not an image name ("a,ghcr.io" is not a path component: lower-case letters and digits, separated by ".", "_", "__" or "-"): ${IMAGE_FORM}`
  ],

  ['registry-auth not a list', { 'registry-auth': 'registry: ghcr.io\nusername: a\npassword: b' }, 'registry-auth', 'Input "registry-auth": is not a YAML list: expected items like "- registry: ghcr.io" with username and password'],
  ['registry-auth item without registry', { 'registry-auth': '- username: a\n  password: b' }, 'registry-auth', `Input "registry-auth": item 1 has no registry: ${AUTH_ITEM}`],
  ['registry-auth item without password', { 'registry-auth': '- {registry: ghcr.io, username: a}' }, 'registry-auth', `Input "registry-auth": item 1 has no password: ${AUTH_ITEM}`],
  [
    'registry-auth indented with a tab',
    { 'registry-auth': '- registry: ghcr.io\n\tusername: a\n  password: b' },
    'registry-auth',
    'Input "registry-auth": is indented with tabs: YAML needs spaces; expected a list like "- registry: ghcr.io"'
  ],
  [
    'registry-auth invalid YAML',
    { 'registry-auth': '- registry: [ghcr.io\n  username: a' },
    'registry-auth',
    'Input "registry-auth": is not valid YAML at line 2: expected a list of {registry, username, password}'
  ],
  [
    'registry-auth unknown key',
    { 'registry-auth': '- registry: ghcr.io\n  user: a\n  password: b' },
    'registry-auth',
    'Input "registry-auth": item 1 has an unknown key "user": expected registry, username and password'
  ],
  ['registry-auth item a plain string', { 'registry-auth': '- ghcr.io' }, 'registry-auth', 'Input "registry-auth": item 1 is not a mapping: expected {registry, username, password}'],
  [
    'registry-auth registry that is no host',
    { 'registry-auth': "- {registry: 'https://ghcr.io/v2/x y', username: a, password: b}" },
    'registry-auth',
    'Input "registry-auth": item 1 has registry "https://ghcr.io/v2/x y": expected a host[:port] like ghcr.io'
  ],
  [
    'registry-auth the same registry twice',
    { 'registry-auth': '- {registry: ghcr.io, username: a, password: b}\n- {registry: GHCR.io, username: c, password: d}' },
    'registry-auth',
    'Input "registry-auth": lists ghcr.io twice (or also in registry/username/password): give one login per registry'
  ],
  [
    'registry-auth repeating the registry input',
    { 'registry-auth': '- {registry: ghcr.io, username: a, password: b}', registry: 'ghcr.io', username: 'u', password: 'p' },
    'registry-auth',
    'Input "registry-auth": lists ghcr.io twice (or also in registry/username/password): give one login per registry'
  ],

  ['yes for no-cache', { 'no-cache': 'yes' }, 'no-cache', `Input "no-cache": "yes" ${NOT_A_BOOLEAN}`],
  ['1 for pull', { pull: '1' }, 'pull', `Input "pull": "1" ${NOT_A_BOOLEAN}`],
  ['no for logout', { logout: 'no' }, 'logout', `Input "logout": "no" ${NOT_A_BOOLEAN}`],
  ['maybe for push', { push: 'maybe' }, 'push', `Input "push": "maybe" ${TRISTATE}`],
  ['sometimes for latest', { latest: 'sometimes' }, 'latest', `Input "latest": "sometimes" ${TRISTATE}`],
  ['on for qemu', { qemu: 'on' }, 'qemu', `Input "qemu": "on" ${TRISTATE}`],

  [
    'push-by-digest with merge-digests',
    { 'push-by-digest': 'true', 'merge-digests': `linux/amd64=${DIGEST}` },
    'push-by-digest',
    'Input "push-by-digest": cannot be combined with merge-digests: a step either builds one leg by digest or merges the legs'
  ],
  [
    'buildkitd-config with buildkitd-config-inline',
    { 'buildkitd-config': 'buildkitd.toml', 'buildkitd-config-inline': 'debug = true' },
    'buildkitd-config',
    'Input "buildkitd-config": cannot be combined with buildkitd-config-inline: give the config either as a file or inline'
  ],

  ['file outside the workspace', { file: '../../etc/passwd' }, 'file', `Input "file": "../../etc/passwd" ${OUTSIDE}`],
  ['missing Dockerfile', { file: 'nope/Dockerfile' }, 'file', 'Input "file": "nope/Dockerfile" does not exist: expected a file path relative to the workspace'],
  ['context without a Dockerfile', { context: 'app' }, 'file', 'Input "file": "app/Dockerfile" does not exist: expected a file path relative to the workspace'],
  ['file that is a directory', { file: 'app' }, 'file', 'Input "file": "app" is not a file'],
  ['context outside the workspace', { context: '../other' }, 'context', `Input "context": "../other" ${OUTSIDE}`],
  ['context at the file system root', { context: '/' }, 'context', `Input "context": "/" ${OUTSIDE}`],
  ['context that is a file', { context: 'Dockerfile' }, 'context', 'Input "context": "Dockerfile" is not a directory'],
  [
    'missing buildkitd-config',
    { 'buildkitd-config': 'missing.toml' },
    'buildkitd-config',
    'Input "buildkitd-config": "missing.toml" does not exist: expected a file path relative to the workspace'
  ],
  ['compose-file outside the workspace', { 'compose-file': '../compose.yaml' }, 'compose-file', `Input "compose-file": "../compose.yaml" ${OUTSIDE}`],
  ['archive outside the workspace', { archive: '../out' }, 'archive', `Input "archive": "../out" ${OUTSIDE}`],

  [
    'username without password',
    { username: 'octocat' },
    'password',
    'Input "password": is empty but username "octocat" is set: give the password or token for ghcr.io'
  ],
  [
    'password without username for Docker Hub',
    { registry: 'docker.io', password: 'not-a-real-token' },
    'username',
    'Input "username": is empty but a password is set: give the user name for docker.io'
  ],

  ['retries -1', { retries: '-1' }, 'retries', 'Input "retries": "-1" is not a whole number from 0 to 10'],
  ['retries abc', { retries: 'abc' }, 'retries', 'Input "retries": "abc" is not a whole number from 0 to 10'],
  ['retries 11', { retries: '11' }, 'retries', 'Input "retries": "11" is not a whole number from 0 to 10'],
  ['smoke-test-timeout 0', { 'smoke-test-timeout': '0' }, 'smoke-test-timeout', 'Input "smoke-test-timeout": "0" is not a whole number from 1 to 3600'],
  ['smoke-test-timeout 1.5', { 'smoke-test-timeout': '1.5' }, 'smoke-test-timeout', 'Input "smoke-test-timeout": "1.5" is not a whole number from 1 to 3600'],

  ['driver podman', { driver: 'podman' }, 'driver', 'Input "driver": "podman" is not allowed: expected one of docker-container, docker, kubernetes, remote'],
  ['driver remote without endpoint', { driver: 'remote' }, 'endpoint', 'Input "endpoint": is required with driver: remote: expected an address like tcp://buildkitd:1234'],
  ['builder name with a space', { builder: 'my builder' }, 'builder', 'Input "builder": "my builder" is not a builder name: expected letters, digits, "_", "." and "-"'],
  ['buildx-version latest', { 'buildx-version': 'latest' }, 'buildx-version', 'Input "buildx-version": "latest" is not a buildx release: expected a version like v0.19.3'],
  [
    'insecure registry with a space',
    { 'insecure-registries': 'http://a b' },
    'insecure-registries',
    'Input "insecure-registries": "http://a b" is not a registry host: expected host[:port], e.g. registry.internal:5000'
  ],
  [
    'registry mirror that is only a scheme',
    { 'registry-mirrors': 'https://' },
    'registry-mirrors',
    'Input "registry-mirrors": "https://" is not a registry host: expected host[:port], e.g. registry.internal:5000'
  ],
  ['preflight maybe', { preflight: 'maybe' }, 'preflight', 'Input "preflight": "maybe" is not allowed: expected one of true, false, warn'],
  ['verify yes', { verify: 'yes' }, 'verify', 'Input "verify": "yes" is not allowed: expected one of true, false, strict'],
  ['archive-format tar', { 'archive-format': 'tar' }, 'archive-format', 'Input "archive-format": "tar" is not allowed: expected one of docker, oci'],
  ['archive-compression bzip2', { 'archive-compression': 'bzip2' }, 'archive-compression', 'Input "archive-compression": "bzip2" is not allowed: expected one of none, gzip, zstd'],
  ['empty qemu-image', { 'qemu-image': '' }, 'qemu-image', 'Input "qemu-image": is empty: expected an image reference like tonistiigi/binfmt:latest'],

  ['build-arg without a name', { 'build-args': '=value' }, 'build-args', `Input "build-args": "=value" ${BUILD_ARG_FORM}`],
  ['build-arg name starting with a digit', { 'build-args': '1BAD=x' }, 'build-args', `Input "build-args": "1BAD=x" ${BUILD_ARG_FORM}`],
  ['build-arg with a space for =', { 'build-args': 'NAME value' }, 'build-args', `Input "build-args": "NAME value" ${BUILD_ARG_FORM}`],
  ['label without a value', { labels: 'novalue' }, 'labels', 'Input "labels": "novalue" is not name=value: expected one name=value per line'],
  ['secret without an id', { secrets: '=x' }, 'secrets', `Input "secrets": ${SECRET_FORM}`],
  ['secret id with spaces', { secrets: 'id with space=x' }, 'secrets', `Input "secrets": ${SECRET_FORM}`],
  ['a secret spread over two lines', { secrets: 'key=line1\nline2' }, 'secrets', `Input "secrets": ${SECRET_FORM}`]
]

describe('readInputs refuses malformed inputs, naming the input', () => {
  test('the table is long enough to mean something', () => {
    expect(malformed.length).toBeGreaterThanOrEqual(40)
  })

  test.each(malformed)('%s', (_what, inputs, input, message) => {
    expect(inputError(read(inputs))).toEqual({ input, message })
  })

  test('no images and no repository to default to', () => {
    expect(inputError(read({}, ''))).toEqual({
      input: 'images',
      message: 'Input "images": is empty and GITHUB_REPOSITORY is not set: expected image names like ghcr.io/owner/app'
    })
  })
})

// Tags and the version are checked when the release is planned, against the run's ref.
const malformedTags: Array<[string, Record<string, string>, Partial<RunContext>, string, string]> = [
  [
    'a tag over 128 characters',
    { tags: 'x'.repeat(129) },
    {},
    'tags',
    `Input "tags": tag "${'x'.repeat(40)}…" is 129 characters long, more than 128; ${TAG_RULE}`
  ],
  ['a tag starting with "."', { tags: '.hidden' }, {}, 'tags', `Input "tags": tag ".hidden" starts with "."; ${TAG_RULE}`],
  ['a tag starting with "-"', { tags: '-dash' }, {}, 'tags', `Input "tags": tag "-dash" starts with "-"; ${TAG_RULE}`],
  [
    'a template that expands to nothing',
    { tags: '{{sha}}' },
    { sha: '' },
    'tags',
    'Input "tags": template "{{sha}}" expands to an empty tag'
  ],
  [
    'an unknown placeholder',
    { tags: 'stable-{{branch}}' },
    {},
    'tags',
    'Input "tags": template "stable-{{branch}}" uses unknown placeholder {{branch}}; known: {{version}}, {{major}}, {{minor}}, {{patch}}, {{sha}}, {{ref}}'
  ],
  [
    'a semver placeholder on a branch',
    { tags: 'v{{major}}' },
    { ref: 'refs/heads/main' },
    'tags',
    'Input "tags": template "v{{major}}" uses {{major}}, but the version "main" is not semver (MAJOR.MINOR.PATCH)'
  ],
  ['a template that is latest', { tags: 'latest' }, {}, 'tags', 'Input "tags": template "latest" gives "latest", which only the latest input sets'],
  ['a version starting with "-"', { version: '-1.0' }, {}, 'version', `Input "version": tag "-1.0" starts with "-"; ${TAG_RULE}`],
  [
    'the version latest',
    { version: 'latest' },
    {},
    'version',
    'Input "version": the version "latest" would be confused with the latest tag; set another version and use latest: true instead'
  ]
]

describe('planRelease refuses malformed tags and versions, naming the input', () => {
  test.each(malformedTags)('%s', (_what, inputs, ctx, input, message) => {
    const outcome = withInputs(inputs, () => planRelease({ ...RUN, ...ctx }, readInputs({ workspace, repository: RUN.repository, actor: RUN.actor })))
    expect(inputError(outcome)).toEqual({ input, message })
  })
})

/** The settings of a run that sets no input at all. */
const DEFAULTS: Inputs = {
  images: ['ghcr.io/octo-org/hello-app'],
  platforms: [
    { os: 'linux', architecture: 'amd64' },
    { os: 'linux', architecture: 'arm64' }
  ],
  context: '.',
  file: 'Dockerfile',
  buildArgs: [],
  labels: [],
  annotations: [],
  target: '',
  secrets: [],
  cacheFrom: [],
  cacheTo: [],
  provenance: '',
  sbom: '',
  noCache: false,
  pull: false,
  push: 'auto',
  version: '',
  tags: [],
  latest: 'auto',
  credentials: [],
  githubToken: DEFAULT_GITHUB_TOKEN,
  logout: true,
  qemu: 'auto',
  qemuImage: 'tonistiigi/binfmt:latest',
  driver: 'docker-container',
  driverOpts: [],
  endpoint: '',
  buildkitdConfig: '',
  buildkitdConfigInline: '',
  insecureRegistries: [],
  registryMirrors: [],
  builder: '',
  buildxVersion: '',
  cleanup: true,
  pushByDigest: false,
  mergeDigests: {},
  append: [],
  preflight: 'true',
  composeFile: '',
  verify: 'true',
  smokeTest: '',
  smokeTestTimeoutSeconds: 120,
  archive: '',
  archiveFormat: 'docker',
  archiveCompression: 'none',
  retries: 3,
  notices: []
}

describe('readInputs parses realistic input sets exactly', () => {
  test('no inputs: the defaults of action.yml, the image from the repository, the job token masked', () => {
    const outcome = read({})
    expect(outcome.error).toBeUndefined()
    expect(outcome.value).toEqual(DEFAULTS)
    expect(masks(outcome.stdout)).toEqual([DEFAULT_GITHUB_TOKEN])
  })

  test('Docker Hub and GHCR release: image lower-cased with a notice, arm64/v8 normalized, multi-line lists', () => {
    const outcome = read({
      images: 'Docker.io/MyUser/App\nghcr.io/octo-org/hello-app',
      platforms: 'linux/amd64, linux/arm64/v8,linux/arm/v7',
      username: 'myuser',
      password: 'dckr_pat_not-real',
      'build-args': 'GO_VERSION=1.23\nLDFLAGS=-s -w\n',
      labels: 'org.opencontainers.image.vendor=Acme, Inc.',
      'cache-from': 'type=gha',
      'cache-to': 'type=gha,mode=max',
      tags: 'stable-{{major}}\n\nsha-{{sha}}',
      file: 'docker/Dockerfile.release',
      target: 'runtime'
    })
    expect(outcome.error).toBeUndefined()
    expect(outcome.value).toEqual({
      ...DEFAULTS,
      images: ['docker.io/myuser/app', 'ghcr.io/octo-org/hello-app'],
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
        { os: 'linux', architecture: 'arm', variant: 'v7' }
      ],
      file: 'docker/Dockerfile.release',
      target: 'runtime',
      buildArgs: ['GO_VERSION=1.23', 'LDFLAGS=-s -w'],
      labels: ['org.opencontainers.image.vendor=Acme, Inc.'],
      cacheFrom: ['type=gha'],
      cacheTo: ['type=gha,mode=max'],
      tags: ['stable-{{major}}', 'sha-{{sha}}'],
      credentials: [{ registry: 'docker.io', username: 'myuser', password: 'dckr_pat_not-real' }],
      notices: [
        'images: "Docker.io/MyUser/App" lower-cased to "docker.io/myuser/app"',
        'registry: logging in to docker.io, the host of docker.io/myuser/app'
      ]
    })
    expect(masks(outcome.stdout).sort()).toEqual([DEFAULT_GITHUB_TOKEN, 'dckr_pat_not-real'].sort())
  })

  test('csv-aware lists: quoted items stay whole, schemes and trailing slashes are dropped from hosts', () => {
    const outcome = read({
      images: '"127.0.0.1:5000/team/app", ghcr.io/octo-org/hello-app',
      platforms: 'linux/amd64,"linux/arm/v7"',
      'insecure-registries': '"registry.internal:5000", http://mirror.local/\n[::1]:5001',
      'registry-mirrors': 'https://mirror.gcr.io/'
    })
    expect(outcome.error).toBeUndefined()
    expect(outcome.value).toEqual({
      ...DEFAULTS,
      images: ['127.0.0.1:5000/team/app', 'ghcr.io/octo-org/hello-app'],
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm', variant: 'v7' }
      ],
      insecureRegistries: ['registry.internal:5000', 'mirror.local', '[::1]:5001'],
      registryMirrors: ['mirror.gcr.io']
    })
  })

  test('self-hosted remote builder with registry-auth, secrets and a distributed leg', () => {
    const outcome = read({
      images: 'registry.internal:5000/team/app',
      platforms: 'linux/arm64',
      driver: 'remote',
      endpoint: 'tcp://buildkitd:1234',
      'registry-auth': [
        '- registry: registry.internal:5000',
        '  username: ci',
        '  password: internal-pass-not-real',
        '- registry: https://index.docker.io/v1/',
        '  username: hubuser',
        '  password: hub-token-not-real'
      ].join('\n'),
      secrets: 'npm_token=npm-secret-not-real\nsentry.auth=sentry=value',
      push: 'true',
      'no-cache': 'TRUE',
      'push-by-digest': 'true',
      cleanup: 'False',
      retries: '0',
      'smoke-test-timeout': '30',
      preflight: 'warn',
      verify: 'strict',
      'compose-file': 'deploy/compose.yaml',
      archive: 'dist/images',
      'archive-format': 'oci',
      'archive-compression': 'zstd',
      'buildx-version': 'v0.19.3',
      'buildkitd-config': 'buildkitd.toml'
    })
    expect(outcome.error).toBeUndefined()
    expect(outcome.value).toEqual({
      ...DEFAULTS,
      images: ['registry.internal:5000/team/app'],
      platforms: [{ os: 'linux', architecture: 'arm64' }],
      driver: 'remote',
      endpoint: 'tcp://buildkitd:1234',
      credentials: [
        { registry: 'registry.internal:5000', username: 'ci', password: 'internal-pass-not-real' },
        { registry: 'docker.io', username: 'hubuser', password: 'hub-token-not-real' }
      ],
      secrets: [
        { id: 'npm_token', value: 'npm-secret-not-real' },
        { id: 'sentry.auth', value: 'sentry=value' }
      ],
      push: 'true',
      noCache: true,
      pushByDigest: true,
      cleanup: false,
      retries: 0,
      smokeTestTimeoutSeconds: 30,
      preflight: 'warn',
      verify: 'strict',
      composeFile: 'deploy/compose.yaml',
      archive: 'dist/images',
      archiveFormat: 'oci',
      archiveCompression: 'zstd',
      buildxVersion: 'v0.19.3',
      buildkitdConfig: 'buildkitd.toml'
    })
    expect(masks(outcome.stdout).sort()).toEqual(
      [DEFAULT_GITHUB_TOKEN, 'internal-pass-not-real', 'hub-token-not-real', 'npm-secret-not-real', 'sentry=value'].sort()
    )
  })

  test('a merge job needs no Dockerfile and parses the legs', () => {
    const outcome = read({ context: 'app', 'merge-digests': `linux/amd64=${DIGEST}\nlinux/arm64/v8=${DIGEST_B}` })
    expect(outcome.error).toBeUndefined()
    expect(outcome.value).toEqual({
      ...DEFAULTS,
      context: 'app',
      file: '',
      mergeDigests: { 'linux/amd64': DIGEST, 'linux/arm64': DIGEST_B }
    })
  })
})

const VALUE_FLAGS = new Set([
  '--builder',
  '--platform',
  '--file',
  '--target',
  '--build-arg',
  '--label',
  '--annotation',
  '--secret',
  '--tag',
  '--cache-from',
  '--cache-to',
  '--output',
  '--metadata-file'
])
const SWITCHES = new Set(['--no-cache', '--pull', '--push'])

/**
 * Reads argv as buildx's flag parser does (a flag that takes a value takes the next element,
 * whatever it looks like) and returns the flags it meets and the positional arguments.
 */
function parseBuildArgv(argv: string[]): { flags: Array<[string, string | undefined]>; positional: string[] } {
  expect(argv[0]).toBe('build')
  const flags: Array<[string, string | undefined]> = []
  let i = 1
  for (; i < argv.length && argv[i] !== '--'; i++) {
    const arg = argv[i]
    if (VALUE_FLAGS.has(arg)) {
      flags.push([arg, argv[++i]])
    } else if (SWITCHES.has(arg)) {
      flags.push([arg, undefined])
    } else if (/^--(provenance|sbom)=/.test(arg)) {
      flags.push([arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)])
    } else {
      throw new Error(`argv element ${i} (${JSON.stringify(arg)}) is neither a known flag nor a flag's value: ${JSON.stringify(argv)}`)
    }
  }
  return { flags, positional: argv.slice(i + 1) }
}

// [input, value, the flag whose value it may only be; none for secrets (env) and context (after "--")]
const injectionTargets: Array<[string, string, string | undefined]> = INJECTIONS.flatMap(v => [
  ['images', v, '--tag'] as [string, string, string | undefined],
  ['tags', v, '--tag'],
  ['build-args', v, '--build-arg'],
  ['build-args', `X=${v}`, '--build-arg'],
  ['labels', v, '--label'],
  ['labels', `note=${v}`, '--label'],
  ['annotations', v, '--annotation'],
  ['target', v, '--target'],
  ['cache-from', v, '--cache-from'],
  ['cache-to', v, '--cache-to'],
  ['provenance', v, '--provenance'],
  ['sbom', v, '--sbom'],
  ['secrets', `id=${v}`, undefined],
  ['file', v, '--file'],
  ['context', v, undefined]
])

function argvFor(inputs: Record<string, string>): Outcome<string[]> {
  // The very plan main builds from, so the argv checked is the argv run.
  return withInputs(inputs, () => buildArgs(buildPlan(planRelease(RUN, readInputs({ workspace, repository: RUN.repository, actor: RUN.actor })), 'b1', 'metadata.json')))
}

describe('injection: a hostile value is refused or stays one argv element', () => {
  test.each(injectionTargets)('%s: %s', (input, value, flag) => {
    const outcome = argvFor({ [input]: value })
    if (outcome.error !== undefined) {
      expect(inputError(outcome).input).toBe(input)
      return
    }
    const argv = outcome.value!
    const { flags, positional } = parseBuildArgv(argv)
    const bare = value.replace(/^id=/, '')
    const holding = argv.filter(arg => arg.includes(bare))
    if (input === 'secrets') {
      // Secret values travel in the environment of the buildx process, never in argv.
      expect(holding).toEqual([])
    } else if (input === 'context') {
      expect(positional).toEqual([value])
      expect(holding).toEqual([path.join(value, 'Dockerfile'), value])
      expect(flags.filter(([name]) => name === '--file')).toEqual([['--file', path.join(value, 'Dockerfile')]])
    } else {
      expect(positional).toEqual(['.'])
      expect(holding).toHaveLength(1)
      expect(flags.filter(([, v]) => v?.includes(bare)).map(([name]) => name)).toEqual([flag])
    }
  })

  test('a context named like a flag comes after "--"', () => {
    const outcome = argvFor({ context: '--push' })
    expect(outcome.error).toBeUndefined()
    const argv = outcome.value!
    expect(argv.slice(-2)).toEqual(['--', '--push'])
    expect(parseBuildArgv(argv).flags.filter(([name]) => name === '--push')).toEqual([['--push', undefined]])
    expect(argv.filter(arg => arg === '--push')).toHaveLength(2)
  })

  test('a multi-line build-arg or label cannot smuggle a flag line', () => {
    expect(inputError(read({ 'build-args': 'A=1\n--output=type=local,dest=/' }))).toEqual({
      input: 'build-args',
      message: `Input "build-args": "--output=type=local,dest=/" ${BUILD_ARG_FORM}`
    })
    const outcome = argvFor({ labels: 'a=1\n--push' })
    expect(inputError(outcome)).toEqual({ input: 'labels', message: 'Input "labels": "--push" is not name=value: expected one name=value per line' })
  })
})

describe('stage names, registry hosts, secret ids and paths', () => {
  test.each<[string, Record<string, string>, string, string]>([
    ['a target that is a flag', { target: '--output=type=local,dest=/' }, 'target', 'Input "target": "--output=type=local,dest=/" is not a build stage name: expected the name of a FROM ... AS <name> stage'],
    ['a target with a shell expansion', { target: '$(touch /tmp/pwned)' }, 'target', 'Input "target": "$(touch /tmp/pwned)" is not a build stage name: expected the name of a FROM ... AS <name> stage'],
    ['a registry that is no host', { registry: 'not a host!', username: 'u', password: 'p' }, 'registry', 'Input "registry": "not a host!" is not a registry host: expected host[:port], e.g. ghcr.io'],
    ['a registry with a path', { registry: 'ghcr.io/octo-org', username: 'u', password: 'p' }, 'registry', 'Input "registry": "ghcr.io/octo-org" is not a registry host: expected host[:port], e.g. ghcr.io'],
    ['the same secret id twice', { secrets: 'npm=a\nnpm=b' }, 'secrets', 'Input "secrets": gives the id "npm" twice: expected one id=value line per secret']
  ])('%s is refused', (_name, inputs, input, message) => {
    const error = inputError(read(inputs))
    expect({ input: error.input, message: error.message }).toEqual({ input, message })
  })

  test('a file whose name starts with ".." is inside the workspace', () => {
    const outcome = read({ file: '..Dockerfile' })
    expect(outcome.error).toBeUndefined()
    expect(outcome.value?.file).toBe('..Dockerfile')
  })
})
