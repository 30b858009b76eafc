import { build, buildArgs, mergeLabels, secretEnv, secretEnvName, type BuildPlan } from '../../src/build.js'
import { RecordingDocker, ok } from '../fixtures/cli.js'
import { emptyPlan, everyFlagPlan } from '../fixtures/plan.js'

const MINIMAL = emptyPlan()

const SECRETS = [
  { id: 'npm_token', value: 'npm-s3cr3t-value' },
  { id: 'gh.token', value: 'ghp_0123456789abcdef' }
]

const EVERY_FLAG = everyFlagPlan({
  labels: mergeLabels(
    ['org.opencontainers.image.title=app', 'org.opencontainers.image.vendor=octo'],
    ['org.opencontainers.image.vendor=Acme, Inc.', 'team=build']
  ),
  buildArgs: ['GO_VERSION=1.23', 'LIST=a,b'],
  secrets: SECRETS
})

describe('buildArgs', () => {
  test.each<[string, BuildPlan, string[]]>([
    ['minimal plan', MINIMAL, ['build', '--platform', 'linux/amd64', '--metadata-file', 'work/metadata.json', '--', '.']],
    [
      'every flag',
      EVERY_FLAG,
      [
        'build',
        '--builder', 'multiarch-release-42-1-a1b2c3',
        '--platform', 'linux/amd64,linux/arm64,linux/arm/v7',
        '--file', 'docker/Dockerfile.release',
        '--target', 'runtime',
        '--build-arg', 'GO_VERSION=1.23',
        '--build-arg', 'LIST=a,b',
        '--label', 'org.opencontainers.image.title=app',
        '--label', 'org.opencontainers.image.vendor=Acme, Inc.',
        '--label', 'team=build',
        '--annotation', 'index:org.opencontainers.image.description=My app',
        '--secret', 'id=npm_token,env=MULTIARCH_RELEASE_SECRET_0',
        '--secret', 'id=gh.token,env=MULTIARCH_RELEASE_SECRET_1',
        '--tag', 'ghcr.io/octo/app:1.2.3',
        '--tag', 'ghcr.io/octo/app:latest',
        '--cache-from', 'type=gha',
        '--cache-to', 'type=gha,mode=max',
        '--provenance=mode=max',
        '--sbom=true',
        '--no-cache',
        '--pull',
        '--push',
        '--metadata-file', 'work/metadata.json',
        '--', './app'
      ]
    ],
    [
      'attestations switched off',
      { ...MINIMAL, provenance: 'false', sbom: 'false' },
      ['build', '--platform', 'linux/amd64', '--provenance=false', '--sbom=false', '--metadata-file', 'work/metadata.json', '--', '.']
    ],
    [
      'a context that looks like a flag stays after --',
      { ...MINIMAL, context: '--push' },
      ['build', '--platform', 'linux/amd64', '--metadata-file', 'work/metadata.json', '--', '--push']
    ],
    [
      'push alone',
      { ...MINIMAL, push: true, tags: ['127.0.0.1:5000/app:1'] },
      ['build', '--platform', 'linux/amd64', '--tag', '127.0.0.1:5000/app:1', '--push', '--metadata-file', 'work/metadata.json', '--', '.']
    ],
    [
      'explicit outputs replace --tag and --push, in order, after --pull',
      {
        ...MINIMAL,
        tags: ['ghcr.io/octo/app:1.2.3'],
        pull: true,
        push: true,
        outputs: ['type=image,name=ghcr.io/octo/app,push-by-digest=true,name-canonical=true,push=true', 'type=oci,dest=work/app.tar']
      },
      [
        'build', '--platform', 'linux/amd64', '--pull',
        '--output', 'type=image,name=ghcr.io/octo/app,push-by-digest=true,name-canonical=true,push=true',
        '--output', 'type=oci,dest=work/app.tar',
        '--metadata-file', 'work/metadata.json', '--', '.'
      ]
    ],
    [
      'an empty outputs list keeps --tag and --push',
      { ...MINIMAL, tags: ['ghcr.io/octo/app:1.2.3'], push: true, outputs: [] },
      ['build', '--platform', 'linux/amd64', '--tag', 'ghcr.io/octo/app:1.2.3', '--push', '--metadata-file', 'work/metadata.json', '--', '.']
    ]
  ])('%s', (_name, plan, expected) => {
    expect(buildArgs(plan)).toEqual(expected)
  })

  test.each(SECRETS.map(s => [s.id, s.value]))('the value of secret %s is not in argv', (_id, value) => {
    const argv = buildArgs(EVERY_FLAG)
    expect(argv.filter(arg => arg.includes(value))).toEqual([])
  })
})

describe('mergeLabels', () => {
  test.each<[string, string[][], string[]]>([
    ['no lists', [], []],
    ['generated only', [['a=1', 'b=2']], ['a=1', 'b=2']],
    ['the user wins and keeps the generated position', [['a=1', 'b=2', 'c=3'], ['b=user', 'd=4']], ['a=1', 'b=user', 'c=3', 'd=4']],
    ['values with = and commas survive', [['x=1'], ['x=a=b,c']], ['x=a=b,c']],
    ['an empty value overrides too', [['org.opencontainers.image.url=https://github.com/o/r'], ['org.opencontainers.image.url=']], ['org.opencontainers.image.url=']],
    ['the last of three lists wins', [['a=1'], ['a=2'], ['a=3']], ['a=3']]
  ])('%s', (_name, lists, expected) => {
    expect(mergeLabels(...lists)).toEqual(expected)
  })
})

describe('secretEnv', () => {
  test.each<[string, typeof SECRETS, Record<string, string>]>([
    ['none', [], {}],
    ['in order, by index', SECRETS, { MULTIARCH_RELEASE_SECRET_0: 'npm-s3cr3t-value', MULTIARCH_RELEASE_SECRET_1: 'ghp_0123456789abcdef' }],
    ['a value with newlines and = is kept as is', [{ id: 'key', value: 'line1\nline2=x' }], { MULTIARCH_RELEASE_SECRET_0: 'line1\nline2=x' }]
  ])('%s', (_name, secrets, expected) => {
    expect(secretEnv(secrets)).toEqual(expected)
  })

  test('secretEnvName', () => {
    expect([0, 1, 12].map(secretEnvName)).toEqual(['MULTIARCH_RELEASE_SECRET_0', 'MULTIARCH_RELEASE_SECRET_1', 'MULTIARCH_RELEASE_SECRET_12'])
  })
})

describe('build', () => {
  test('runs buildx with the argv and hands the secrets over in env only', async () => {
    const docker = new RecordingDocker(ok())
    await build(docker, EVERY_FLAG)
    expect(docker.calls).toEqual([
      {
        via: 'buildx',
        args: buildArgs(EVERY_FLAG),
        options: { env: { MULTIARCH_RELEASE_SECRET_0: 'npm-s3cr3t-value', MULTIARCH_RELEASE_SECRET_1: 'ghp_0123456789abcdef' } }
      }
    ])
  })
})
