import type { ExecResult } from '../../src/docker.js'
import { buildxAsset, checkBuildx, parseBuildxVersion } from '../../src/buildx.js'
import { RecordingDocker, cliFixture, failed, ok } from '../fixtures/cli.js'

// `docker buildx version` of this toolchain (a Debian build), captured by capture-cli.sh.
const CAPTURED = cliFixture('buildx-version.stdout.txt')
// The forms the upstream releases, Docker Desktop and a technology preview print, verbatim.
const UPSTREAM = 'github.com/docker/buildx v0.19.3 48d6a39\n'
const DESKTOP = 'github.com/docker/buildx v0.12.1-desktop.4 6996841df2f61988c2794d84d33205368f96c317\n'
const PREVIEW = 'github.com/docker/buildx v0.3.1-tp-docker 6db68d029599c6710a32aa7adcba8e5a344795a7\n'
const MISSING = cliFixture('buildx-version-missing.stderr.txt')

describe('parseBuildxVersion', () => {
  test.each<[string, string, string | undefined]>([
    ['the captured Debian build', CAPTURED, '0.13.1'],
    ['an upstream release', UPSTREAM, '0.19.3'],
    ['Docker Desktop', DESKTOP, '0.12.1'],
    ['a technology preview', PREVIEW, '0.3.1'],
    ['the CLI answer when buildx is missing', MISSING, undefined],
    ['nothing', '', undefined]
  ])('%s', (_name, stdout, expected) => {
    expect(parseBuildxVersion(stdout)).toEqual(expected)
  })
})

test.each<[string, string, string]>([
  ['0.19.3', 'x64', 'buildx-v0.19.3.linux-amd64'],
  ['0.19.3', 'arm64', 'buildx-v0.19.3.linux-arm64'],
  ['0.19.3', 'arm', 'buildx-v0.19.3.linux-arm-v7'],
  ['0.19.3', 'ppc64', 'buildx-v0.19.3.linux-ppc64le'],
  ['0.19.3', 's390x', 'buildx-v0.19.3.linux-s390x'],
  ['0.19.3', 'riscv64', 'buildx-v0.19.3.linux-riscv64'],
  ['0.13.1', 'loong64', 'buildx-v0.13.1.linux-loong64']
])('buildxAsset(%s, %s) = %s', (version, arch, expected) => {
  expect(buildxAsset(version, arch)).toEqual(expected)
})

describe('checkBuildx', () => {
  test.each<[string, string, string]>([
    ['the captured Debian build', CAPTURED, '0.13.1'],
    ['an upstream release', UPSTREAM, '0.19.3']
  ])('%s: the version, from a silent probe', async (_name, stdout, expected) => {
    const docker = new RecordingDocker(ok(stdout))
    await expect(checkBuildx(docker)).resolves.toEqual(expected)
    expect(docker.calls).toEqual([{ via: 'buildx', args: ['version'], options: { silent: true, allowFailure: true } }])
  })

  test.each<[string, ExecResult, string]>([
    [
      'too old: names the minimum and suggests buildx-version',
      ok(PREVIEW),
      'docker buildx 0.3.1 is too old: 0.10.0 or newer is needed; set buildx-version: v0.19.3 (or newer) to install one'
    ],
    [
      'missing: the CLI says which command it does not know',
      failed(MISSING),
      'docker buildx is not available (docker: unknown command: docker buildx): ' +
        'install the buildx plugin on the runner, or set buildx-version to install a release'
    ],
    [
      'failed without output: the exit code',
      failed('', 127),
      'docker buildx is not available (exit code 127): install the buildx plugin on the runner, or set buildx-version to install a release'
    ]
  ])('%s', async (_name, answer, message) => {
    await expect(checkBuildx(new RecordingDocker(answer))).rejects.toThrow(new Error(message))
  })
})
