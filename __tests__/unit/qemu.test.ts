import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Tristate } from '../../src/inputs.js'
import { hostPlatform, parsePlatforms } from '../../src/platforms.js'
import { installArgs, installEmulators, parseHandler, planEmulation, readEmulators, type EmulationPlan, type Emulator } from '../../src/qemu.js'
import { BINFMT_FIXTURES, RecordingDocker, cliFixture, ok } from '../fixtures/cli.js'

// Handler files as the kernel prints them, captured by capture-cli.sh from /proc/sys/fs/binfmt_misc.
const binfmt = (name: string): string => cliFixture(`binfmt/${name}`)
const BINFMT_DIR = fileURLToPath(BINFMT_FIXTURES)

let tempDirs: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'binfmt-'))
  tempDirs.push(dir)
  return dir
}
afterEach(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true })
  tempDirs = []
})

/** A binfmt_misc directory like the kernel's: the captured handlers, status and the write-only register. */
function populate(files: Record<string, string>): string {
  const dir = tempDir()
  for (const [name, fixture] of Object.entries(files)) copyFileSync(join(BINFMT_DIR, fixture), join(dir, name))
  writeFileSync(join(dir, 'register'), '')
  return dir
}

describe('parseHandler on captured binfmt_misc files', () => {
  test.each<[string, string, Emulator]>([
    ['qemu-aarch64', 'qemu-aarch64', { handler: 'qemu-aarch64', enabled: true, fixBinary: true }],
    ['qemu-arm', 'qemu-arm', { handler: 'qemu-arm', enabled: true, fixBinary: true }],
    ['qemu-s390x', 'qemu-s390x', { handler: 'qemu-s390x', enabled: true, fixBinary: true }],
    ['a disabled handler with F', 'disabled', { handler: 'disabled', enabled: false, fixBinary: true }],
    ['an enabled handler without flags', 'noflags', { handler: 'noflags', enabled: true, fixBinary: false }]
  ])('%s', (_name, fixture, expected) => {
    expect(parseHandler(fixture, binfmt(fixture))).toEqual(expected)
  })
})

describe('readEmulators', () => {
  test('reads every handler of a populated directory, skipping register and status', () => {
    const dir = populate({
      'qemu-aarch64': 'qemu-aarch64',
      'qemu-arm': 'qemu-arm',
      'qemu-ppc64le': 'qemu-ppc64le',
      'qemu-riscv64': 'qemu-riscv64',
      'qemu-s390x': 'qemu-s390x',
      'qemu-mips64el': 'disabled',
      'qemu-loongarch64': 'noflags',
      status: 'status'
    })
    const byHandler = (a: Emulator, b: Emulator): number => a.handler.localeCompare(b.handler)
    expect(readEmulators(dir).sort(byHandler)).toEqual([
      { handler: 'qemu-aarch64', enabled: true, fixBinary: true },
      { handler: 'qemu-arm', enabled: true, fixBinary: true },
      { handler: 'qemu-loongarch64', enabled: true, fixBinary: false },
      { handler: 'qemu-mips64el', enabled: false, fixBinary: true },
      { handler: 'qemu-ppc64le', enabled: true, fixBinary: true },
      { handler: 'qemu-riscv64', enabled: true, fixBinary: true },
      { handler: 'qemu-s390x', enabled: true, fixBinary: true }
    ])
  })

  test('an entry that cannot be read as a file is left out', () => {
    const dir = populate({ 'qemu-arm': 'qemu-arm', status: 'status' })
    mkdirSync(join(dir, 'qemu-aarch64'))
    expect(readEmulators(dir)).toEqual([{ handler: 'qemu-arm', enabled: true, fixBinary: true }])
  })

  test.each<[string, () => string]>([
    ['binfmt_misc not mounted', () => join(tempDir(), 'binfmt_misc')],
    ['only status and register', () => populate({ status: 'status' })]
  ])('%s: none', (_name, dir) => {
    expect(readEmulators(dir())).toEqual([])
  })
})

describe('planEmulation', () => {
  const AMD64 = hostPlatform('x64')
  const ARM64 = hostPlatform('arm64')
  // Every handler captured on a runner with emulators installed: aarch64, arm, ppc64le, riscv64, s390x.
  const REGISTERED = ['qemu-aarch64', 'qemu-arm', 'qemu-ppc64le', 'qemu-riscv64', 'qemu-s390x'].map(h => parseHandler(h, binfmt(h)))
  const AARCH64_ONLY = [parseHandler('qemu-aarch64', binfmt('qemu-aarch64'))]
  const AARCH64_DISABLED = [parseHandler('qemu-aarch64', binfmt('disabled'))]
  const AARCH64_WITHOUT_F = [parseHandler('qemu-aarch64', binfmt('noflags'))]
  const plan = (p: Partial<EmulationPlan>): EmulationPlan => ({ native: [], emulated: [], install: [], uncovered: [], ...p })

  test.each<[string, string[], Emulator[], Tristate, EmulationPlan]>([
    ['amd64 and 386 are native', ['linux/amd64', 'linux/386'], [], 'auto', plan({ native: ['linux/amd64', 'linux/386'] })],
    ['a registered aarch64 emulates arm64', ['linux/amd64', 'linux/arm64'], AARCH64_ONLY, 'auto', plan({ native: ['linux/amd64'], emulated: ['linux/arm64'] })],
    ['missing emulators are installed by binfmt name', ['linux/amd64', 'linux/arm64', 'linux/arm/v7'], [], 'auto', plan({ native: ['linux/amd64'], install: ['arm64', 'arm'] })],
    ['arm/v6 and arm/v7 install one arm', ['linux/arm/v6', 'linux/arm/v7'], [], 'auto', plan({ install: ['arm'] })],
    ['arm/v6 and arm/v7 with qemu true install one arm too', ['linux/arm/v6', 'linux/arm/v7'], REGISTERED, 'true', plan({ install: ['arm'] })],
    [
      'the registered set of a runner covers all but 386',
      ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/ppc64le', 'linux/s390x', 'linux/riscv64', 'linux/386'],
      REGISTERED,
      'auto',
      plan({ native: ['linux/amd64', 'linux/386'], emulated: ['linux/arm64', 'linux/arm/v7', 'linux/ppc64le', 'linux/s390x', 'linux/riscv64'] })
    ],
    ['a disabled handler does not count', ['linux/arm64'], AARCH64_DISABLED, 'auto', plan({ install: ['arm64'] })],
    ['a handler without the F flag does not count', ['linux/arm64'], AARCH64_WITHOUT_F, 'auto', plan({ install: ['arm64'] })],
    ['qemu true installs even what is registered; native stays native', ['linux/amd64', 'linux/arm64'], AARCH64_ONLY, 'true', plan({ native: ['linux/amd64'], install: ['arm64'] })],
    ['qemu false: registered is emulated, the rest uncovered', ['linux/amd64', 'linux/arm64', 'linux/arm/v7'], AARCH64_ONLY, 'false', plan({ native: ['linux/amd64'], emulated: ['linux/arm64'], uncovered: ['linux/arm/v7'] })],
    ['qemu false with nothing registered', ['linux/arm64', 'linux/s390x'], [], 'false', plan({ uncovered: ['linux/arm64', 'linux/s390x'] })],
    ['x86-64 levels run on an amd64 host: no emulator for them', ['linux/amd64/v2', 'linux/amd64/v3'], [], 'auto', plan({ native: ['linux/amd64/v2', 'linux/amd64/v3'] })]
  ])('host linux/amd64: %s', (_name, requested, emulators, mode, expected) => {
    expect(planEmulation(parsePlatforms(requested), AMD64, emulators, mode)).toEqual(expected)
  })

  test.each<[string, string[], Emulator[], Tristate, EmulationPlan]>([
    ['amd64 needs an emulator; arm/v7 is not claimed as native', ['linux/arm64', 'linux/amd64', 'linux/arm/v7'], [], 'auto', plan({ native: ['linux/arm64'], install: ['amd64', 'arm'] })],
    ['386 installs by its own name', ['linux/386'], [], 'auto', plan({ install: ['386'] })]
  ])('host linux/arm64: %s', (_name, requested, emulators, mode, expected) => {
    expect(planEmulation(parsePlatforms(requested), ARM64, emulators, mode)).toEqual(expected)
  })
})

test.each<[string, string[], string[]]>([
  ['tonistiigi/binfmt:latest', ['arm64', 'arm'], ['run', '--rm', '--privileged', 'tonistiigi/binfmt:latest', '--install', 'arm64,arm']],
  ['127.0.0.1:5001/binfmt:qemu-v9.2.0', ['riscv64'], ['run', '--rm', '--privileged', '127.0.0.1:5001/binfmt:qemu-v9.2.0', '--install', 'riscv64']]
])('installArgs(%s, %j)', (image, architectures, expected) => {
  expect(installArgs(image, architectures)).toEqual(expected)
})

describe('installEmulators', () => {
  const requested = parsePlatforms(['linux/amd64', 'linux/arm64', 'linux/arm/v7'])
  const installPlan: EmulationPlan = { native: ['linux/amd64'], emulated: [], install: ['arm64', 'arm'], uncovered: [] }

  test('runs the image silently, then finds the handlers registered', async () => {
    const dir = populate({ 'qemu-aarch64': 'qemu-aarch64', 'qemu-arm': 'qemu-arm', status: 'status' })
    const docker = new RecordingDocker(ok(cliFixture('binfmt-status.stdout.txt')))
    await installEmulators(docker, 'tonistiigi/binfmt:latest', installPlan, requested, dir)
    expect(docker.calls).toEqual([
      { via: 'run', args: ['run', '--rm', '--privileged', 'tonistiigi/binfmt:latest', '--install', 'arm64,arm'], options: { silent: true } }
    ])
  })

  test('a handler still missing (or unusable) afterwards fails with what to do', async () => {
    const dir = populate({ 'qemu-aarch64': 'qemu-aarch64', 'qemu-arm': 'disabled', status: 'status' })
    const docker = new RecordingDocker(ok(cliFixture('binfmt-status.stdout.txt')))
    await expect(installEmulators(docker, 'tonistiigi/binfmt:latest', installPlan, requested, dir)).rejects.toThrow(
      new Error(
        `QEMU emulators for linux/arm/v7 are still not registered in ${dir} after running tonistiigi/binfmt:latest: ` +
          'the runner must allow privileged containers and have binfmt_misc available (modprobe binfmt_misc), or build those platforms on native runners'
      )
    )
    expect(readdirSync(dir).sort()).toEqual(['qemu-aarch64', 'qemu-arm', 'register', 'status'])
  })
})
