import {
  buildkitdConfig,
  builderName,
  createArgs,
  createBuilder,
  removeArgs,
  removeBuilder,
  withHostNetwork,
  type BuilderSpec,
  type RegistryConfig
} from '../../src/builder.js'
import type { ExecResult } from '../../src/docker.js'
import type { Driver } from '../../src/inputs.js'
import { isLoopbackRegistry, registryHost } from '../../src/reference.js'
import { RecordingDocker, cliFixture, failed, ok } from '../fixtures/cli.js'

const CONTAINER: BuilderSpec = {
  name: 'multiarch-release-42-1-a1b2c3',
  driver: 'docker-container',
  driverOpts: [],
  endpoint: '',
  configFile: '',
  platforms: ['linux/amd64', 'linux/arm64']
}

describe('createArgs', () => {
  test.each<[string, BuilderSpec, string[]]>([
    [
      'docker-container, nothing else: platforms are not passed',
      CONTAINER,
      ['create', '--name', 'multiarch-release-42-1-a1b2c3', '--driver', 'docker-container', '--bootstrap']
    ],
    [
      'driver opts in order and a config file',
      { ...CONTAINER, driverOpts: ['image=moby/buildkit:v0.16.0', 'network=host'], configFile: 'work/buildkitd.toml' },
      [
        'create', '--name', 'multiarch-release-42-1-a1b2c3', '--driver', 'docker-container',
        '--driver-opt', 'image=moby/buildkit:v0.16.0',
        '--driver-opt', 'network=host',
        '--config', 'work/buildkitd.toml',
        '--bootstrap'
      ]
    ],
    [
      'remote: platforms and the endpoint last',
      { ...CONTAINER, driver: 'remote', endpoint: 'tcp://buildkitd:1234' },
      ['create', '--name', 'multiarch-release-42-1-a1b2c3', '--driver', 'remote', '--platform', 'linux/amd64,linux/arm64', '--bootstrap', 'tcp://buildkitd:1234']
    ],
    [
      'remote without platforms',
      { ...CONTAINER, driver: 'remote', endpoint: 'unix:///run/buildkit/buildkitd.sock', platforms: [] },
      ['create', '--name', 'multiarch-release-42-1-a1b2c3', '--driver', 'remote', '--bootstrap', 'unix:///run/buildkit/buildkitd.sock']
    ],
    [
      'kubernetes with driver opts',
      { ...CONTAINER, driver: 'kubernetes', driverOpts: ['namespace=ci', 'replicas=2'] },
      ['create', '--name', 'multiarch-release-42-1-a1b2c3', '--driver', 'kubernetes', '--driver-opt', 'namespace=ci', '--driver-opt', 'replicas=2', '--bootstrap']
    ]
  ])('%s', (_name, spec, expected) => {
    expect(createArgs(spec)).toEqual(expected)
  })
})

test.each<[string, string[]]>([
  ['multiarch-release-42-1-a1b2c3', ['rm', '--force', 'multiarch-release-42-1-a1b2c3']],
  ['my-builder', ['rm', '--force', 'my-builder']]
])('removeArgs(%s)', (name, expected) => {
  expect(removeArgs(name)).toEqual(expected)
})

test.each<[number, number, string, string]>([
  [42, 1, 'a1b2c3', 'multiarch-release-42-1-a1b2c3'],
  [9876543210, 3, '000000', 'multiarch-release-9876543210-3-000000']
])('builderName(%d, %d, %s)', (runId, attempt, random, expected) => {
  expect(builderName(runId, attempt, random)).toEqual(expected)
})

describe('withHostNetwork', () => {
  // The predicate main passes: the registry host of each reference.
  const loopback = (ref: string): boolean => isLoopbackRegistry(registryHost(ref))

  test.each<[string, Driver, string[], string[], { driverOpts: string[]; reason?: string }]>([
    [
      'loopback image: network=host added, with the reason',
      'docker-container',
      [],
      ['127.0.0.1:5000/octo/app'],
      { driverOpts: ['network=host'], reason: 'added driver-opt network=host because 127.0.0.1:5000/octo/app is a loopback registry' }
    ],
    [
      'appended after the user opts; the first loopback reference is named',
      'docker-container',
      ['image=moby/buildkit:v0.16.0'],
      ['ghcr.io/octo/app', 'localhost:5000/app', '127.0.0.1:5001/cache'],
      { driverOpts: ['image=moby/buildkit:v0.16.0', 'network=host'], reason: 'added driver-opt network=host because localhost:5000/app is a loopback registry' }
    ],
    ['the user network= opt is kept', 'docker-container', ['network=bridge'], ['127.0.0.1:5000/app'], { driverOpts: ['network=bridge'] }],
    ['no loopback reference', 'docker-container', ['image=moby/buildkit:v0.16.0'], ['ghcr.io/octo/app', 'docker.io/library/alpine'], { driverOpts: ['image=moby/buildkit:v0.16.0'] }],
    ['no reference at all', 'docker-container', [], [], { driverOpts: [] }],
    ['remote driver untouched', 'remote', [], ['127.0.0.1:5000/app'], { driverOpts: [] }],
    ['kubernetes driver untouched', 'kubernetes', ['namespace=ci'], ['localhost:5000/app'], { driverOpts: ['namespace=ci'] }],
    ['docker driver untouched', 'docker', [], ['127.0.0.1:5000/app'], { driverOpts: [] }]
  ])('%s', (_name, driver, opts, refs, expected) => {
    expect(withHostNetwork(driver, opts, refs, loopback)).toEqual(expected)
  })
})

describe('buildkitdConfig', () => {
  const none: RegistryConfig = { insecureRegistries: [], registryMirrors: [] }
  const userConfig = '# from .github/buildkitd.toml\n[worker.oci]\n  max-parallelism = 4\n\n\n'

  test.each<[string, string, RegistryConfig, { toml: string; skipped: string[] }]>([
    ['nothing at all: no config file', '', none, { toml: '', skipped: [] }],
    ['only whitespace from the user: no config file', '\n  \n', none, { toml: '', skipped: [] }],
    ['the user config alone, trailing blank lines trimmed', userConfig, none, { toml: '# from .github/buildkitd.toml\n[worker.oci]\n  max-parallelism = 4\n', skipped: [] }],
    [
      'mirrors for Docker Hub',
      '',
      { insecureRegistries: [], registryMirrors: ['mirror.gcr.io', '127.0.0.1:5001'] },
      { toml: '[registry."docker.io"]\n  mirrors = ["mirror.gcr.io", "127.0.0.1:5001"]\n', skipped: [] }
    ],
    [
      'insecure registries, one section each',
      '',
      { insecureRegistries: ['127.0.0.1:5000', 'registry.internal:5000'], registryMirrors: [] },
      {
        toml:
          '[registry."127.0.0.1:5000"]\n  http = true\n  insecure = true\n' +
          '\n' +
          '[registry."registry.internal:5000"]\n  http = true\n  insecure = true\n',
        skipped: []
      }
    ],
    [
      'appended to the user config: mirrors first, then the insecure registries',
      userConfig,
      { insecureRegistries: ['127.0.0.1:5000'], registryMirrors: ['mirror.gcr.io'] },
      {
        toml:
          '# from .github/buildkitd.toml\n[worker.oci]\n  max-parallelism = 4\n' +
          '\n' +
          '[registry."docker.io"]\n  mirrors = ["mirror.gcr.io"]\n' +
          '\n' +
          '[registry."127.0.0.1:5000"]\n  http = true\n  insecure = true\n',
        skipped: []
      }
    ],
    [
      'a section the user wrote wins and is reported as skipped',
      '[registry."docker.io"]\n  mirrors = ["registry.example.com"]\n[registry."127.0.0.1:5000"]\n  http = true\n',
      { insecureRegistries: ['127.0.0.1:5000', '127.0.0.1:5001'], registryMirrors: ['mirror.gcr.io'] },
      {
        toml:
          '[registry."docker.io"]\n  mirrors = ["registry.example.com"]\n[registry."127.0.0.1:5000"]\n  http = true\n' +
          '\n' +
          '[registry."127.0.0.1:5001"]\n  http = true\n  insecure = true\n',
        skipped: ['docker.io', '127.0.0.1:5000']
      }
    ]
  ])('%s', (_name, user, registries, expected) => {
    expect(buildkitdConfig(user, registries)).toEqual(expected)
  })
})

describe('createBuilder', () => {
  test('runs buildx create with the argv, silently', async () => {
    const docker = new RecordingDocker(ok('multiarch-release-42-1-a1b2c3\n'))
    await createBuilder(docker, CONTAINER)
    expect(docker.calls).toEqual([{ via: 'buildx', args: createArgs(CONTAINER), options: { silent: true } }])
  })
})

describe('removeBuilder on captured `docker buildx rm --force` answers', () => {
  test.each<[string, string, ExecResult, 'removed' | 'absent']>([
    ['a builder that exists', 'multiarch-release-fixture-rm', ok('', cliFixture('buildx-rm-removed.stderr.txt')), 'removed'],
    ['a builder that is already gone', 'nonexistent', failed(cliFixture('buildx-rm-not-found.stderr.txt')), 'absent']
  ])('%s', async (_name, builder, answer, expected) => {
    const docker = new RecordingDocker(answer)
    await expect(removeBuilder(docker, builder)).resolves.toEqual(expected)
    expect(docker.calls).toEqual([{ via: 'buildx', args: ['rm', '--force', builder], options: { allowFailure: true, silent: true } }])
  })

  test('any other failure throws with the last lines of stderr', async () => {
    const docker = new RecordingDocker(failed(cliFixture('buildx-rm-default.stderr.txt')))
    await expect(removeBuilder(docker, 'default')).rejects.toThrow(
      new Error(
        'docker buildx rm default failed: failed to remove default: context builder cannot be removed, ' +
          'run `docker context rm default` to remove this context ERROR: failed to remove one or more builders'
      )
    )
  })
})
