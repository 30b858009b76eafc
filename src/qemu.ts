import * as fs from 'node:fs'
import * as path from 'node:path'
import type { Docker } from './docker.js'
import type { Tristate } from './inputs.js'
import { formatPlatform, nativePlatforms, platformEquals, qemuArchitecture, type Platform } from './platforms.js'

export const BINFMT_DIR = '/proc/sys/fs/binfmt_misc'

export interface Emulator {
  /** binfmt_misc handler name, e.g. qemu-aarch64. */
  handler: string
  enabled: boolean
  /** The F flag: the interpreter is opened at registration, so it works inside containers. */
  fixBinary: boolean
}

export interface EmulationPlan {
  native: string[]
  /** Platforms an already registered emulator covers. */
  emulated: string[]
  /** Architectures to pass to `binfmt --install`, e.g. ["arm64", "arm"]. */
  install: string[]
  /** Platforms left without an emulator because qemu is false. */
  uncovered: string[]
}

/** Parses one binfmt_misc handler file (the kernel's format: "enabled", "interpreter ...", "flags: OCF"). */
export function parseHandler(handler: string, content: string): Emulator {
  const flags = /^flags:\s*(\S*)/m.exec(content)?.[1] ?? ''
  return { handler, enabled: /^enabled$/m.test(content), fixBinary: flags.includes('F') }
}

/** The handlers registered on this machine; none when binfmt_misc is not mounted. */
export function readEmulators(dir = BINFMT_DIR): Emulator[] {
  let names: string[]
  try {
    names = fs.readdirSync(dir)
  } catch {
    return []
  }
  const emulators: Emulator[] = []
  for (const name of names) {
    if (name === 'register' || name === 'status') continue
    try {
      emulators.push(parseHandler(name, fs.readFileSync(path.join(dir, name), 'utf8')))
    } catch {
      // A handler removed while we read is simply not there.
    }
  }
  return emulators
}

/** The binfmt image's --install name for a platform: the buildx architecture name. */
function installName(p: Platform): string {
  return p.architecture
}

export function planEmulation(requested: Platform[], host: Platform, emulators: Emulator[], mode: Tristate): EmulationPlan {
  const plan: EmulationPlan = { native: [], emulated: [], install: [], uncovered: [] }
  const native = nativePlatforms(host)
  const usable = new Set(emulators.filter(e => e.enabled && e.fixBinary).map(e => e.handler))
  for (const platform of requested) {
    const name = formatPlatform(platform)
    // amd64/v2..v4 are CPU levels of the host's own architecture, not something QEMU provides.
    if (native.some(n => platformEquals(n, platform)) || qemuArchitecture(platform) === qemuArchitecture(host)) {
      plan.native.push(name)
      continue
    }
    const arch = qemuArchitecture(platform)
    const registered = arch !== undefined && usable.has(`qemu-${arch}`)
    if (mode === 'false') {
      if (registered) plan.emulated.push(name)
      else plan.uncovered.push(name)
    } else if (registered && mode === 'auto') {
      plan.emulated.push(name)
    } else if (!plan.install.includes(installName(platform))) {
      plan.install.push(installName(platform))
    }
  }
  return plan
}

export function installArgs(image: string, architectures: string[]): string[] {
  return ['run', '--rm', '--privileged', image, '--install', architectures.join(',')]
}

/** Installs the planned emulators and checks the kernel now has them. */
export async function installEmulators(docker: Docker, image: string, plan: EmulationPlan, requested: Platform[], dir = BINFMT_DIR): Promise<void> {
  // Silent: it runs beside other phases, whose logs must not interleave; a failure carries its stderr.
  await docker.run(installArgs(image, plan.install), { silent: true })
  const usable = new Set(readEmulators(dir).filter(e => e.enabled && e.fixBinary).map(e => e.handler))
  const still = requested.filter(p => {
    const arch = qemuArchitecture(p)
    return plan.install.includes(installName(p)) && arch !== undefined && !usable.has(`qemu-${arch}`)
  })
  if (still.length > 0) {
    throw new Error(
      `QEMU emulators for ${still.map(formatPlatform).join(', ')} are still not registered in ${dir} after running ${image}: ` +
        'the runner must allow privileged containers and have binfmt_misc available (modprobe binfmt_misc), or build those platforms on native runners'
    )
  }
}
