import { InputError } from './errors.js'

export interface Platform {
  os: string
  architecture: string
  variant?: string
}

export const KNOWN_OS = ['linux', 'windows', 'darwin', 'freebsd'] as const

export const KNOWN_ARCHITECTURES = [
  'amd64',
  'arm64',
  'arm',
  '386',
  'ppc64le',
  'ppc64',
  's390x',
  'riscv64',
  'mips64le',
  'mips64',
  'mipsle',
  'mips',
  'loong64',
  'wasm'
] as const

const EXPECTED_FORM =
  'expected os/arch[/variant], e.g. linux/amd64, linux/arm64, linux/arm/v7; ' +
  `known architectures: ${KNOWN_ARCHITECTURES.join(', ')}`

// Variants each architecture may carry after normalization; an architecture missing here
// takes none. The arm64 ones follow Go's GOARM64 levels (v8.0-v8.9, v9.0-v9.5).
const VARIANTS: Record<string, readonly string[]> = {
  amd64: ['v2', 'v3', 'v4'],
  arm: ['v5', 'v6', 'v7', 'v8'],
  arm64: [
    ...Array.from({ length: 9 }, (_, i) => `v8.${i + 1}`),
    'v9',
    ...Array.from({ length: 5 }, (_, i) => `v9.${i + 1}`)
  ]
}

/** Applies the aliases and defaults of containerd's platforms.Normalize; never throws. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase()
  let architecture = p.architecture.toLowerCase()
  let variant = p.variant?.toLowerCase() ?? ''
  // containerd accepts a bare revision number ("linux/arm/7") and names it with a "v".
  if (/^\d+(\.\d+)?$/.test(variant)) variant = `v${variant}`
  switch (architecture) {
    case 'i386':
    case 'i686':
      architecture = '386'
      variant = ''
      break
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      architecture = 'amd64'
      if (variant === 'v1') variant = ''
      break
    case 'aarch64':
    case 'arm64':
      architecture = 'arm64'
      if (variant === 'v8' || variant === 'v8.0') variant = ''
      else if (variant === 'v9.0') variant = 'v9'
      break
    case 'armhf':
      architecture = 'arm'
      variant = 'v7'
      break
    case 'armel':
      architecture = 'arm'
      variant = 'v6'
      break
    case 'arm':
      if (variant === '') variant = 'v7'
      break
  }
  return variant ? { os, architecture, variant } : { os, architecture }
}

/** Parses one `os/arch[/variant]` as buildx does, normalized the way the OCI index names it. */
export function parsePlatform(s: string, input = 'platforms'): Platform {
  const value = s.trim()
  const fail = (reason: string): never => {
    throw new InputError(input, `"${value}" is not a platform (${reason}): ${EXPECTED_FORM}`)
  }
  if (value === '') fail('empty')
  if (/\s/.test(value)) fail('contains whitespace')
  const parts = value.split('/')
  if (parts.length < 2) fail('no OS or no architecture')
  if (parts.length > 3) fail('too many components')
  if (parts.some((part) => part === '')) fail('empty component')
  const [os, architecture, variant] = parts as [string, string, string | undefined]
  const p = normalizePlatform(variant === undefined ? { os, architecture } : { os, architecture, variant })
  if (!(KNOWN_OS as readonly string[]).includes(p.os)) {
    fail(`unknown OS "${p.os}"; known: ${KNOWN_OS.join(', ')}`)
  }
  if (!(KNOWN_ARCHITECTURES as readonly string[]).includes(p.architecture)) {
    fail(`unknown architecture "${p.architecture}"`)
  }
  if (p.variant !== undefined) {
    const allowed = VARIANTS[p.architecture] ?? []
    if (!allowed.includes(p.variant)) {
      fail(
        allowed.length === 0
          ? `${p.architecture} takes no variant, got "${p.variant}"`
          : `unknown ${p.architecture} variant "${p.variant}"; known: ${allowed.join(', ')}`
      )
    }
  }
  return p
}

/**
 * Parses the items of the platforms list input (already split). An empty list gives an empty
 * result so the caller decides what no platform means.
 */
export function parsePlatforms(items: string[], input = 'platforms'): Platform[] {
  const seen = new Map<string, string>()
  const platforms: Platform[] = []
  for (const item of items) {
    const raw = item.trim()
    if (raw === '') {
      throw new InputError(input, `empty platform in the list (a stray or trailing comma?): ${EXPECTED_FORM}`)
    }
    const platform = parsePlatform(raw, input)
    const key = formatPlatform(platform)
    const first = seen.get(key)
    if (first !== undefined) {
      throw new InputError(
        input,
        `"${first}" and "${raw}" are the same platform (${key}); list each platform once`
      )
    }
    seen.set(key, raw)
    platforms.push(platform)
  }
  return platforms
}

export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`
}

/**
 * The suffix of the per-platform output name (digest-linux-arm-v7). Every character other than
 * a letter or digit becomes "-" so the name also works in dot syntax (steps.x.outputs.name),
 * where a "." (arm64/v8.2) would read as a property access.
 */
export function platformOutputKey(p: Platform | string): string {
  const platform = typeof p === 'string' ? splitPlatform(p) : p
  return formatPlatform(normalizePlatform(platform)).replace(/[^a-z0-9]+/g, '-')
}

export function platformEquals(a: Platform, b: Platform): boolean {
  return formatPlatform(normalizePlatform(a)) === formatPlatform(normalizePlatform(b))
}

const QEMU_ARCHITECTURES: Record<string, string> = {
  amd64: 'x86_64',
  arm64: 'aarch64',
  arm: 'arm',
  '386': 'i386',
  ppc64le: 'ppc64le',
  ppc64: 'ppc64',
  s390x: 's390x',
  riscv64: 'riscv64',
  mips64le: 'mips64el',
  mips64: 'mips64',
  mipsle: 'mipsel',
  mips: 'mips',
  loong64: 'loongarch64'
}

/** The QEMU target (binfmt_misc handler qemu-<name>) that runs the platform; none for wasm. */
export function qemuArchitecture(p: Platform): string | undefined {
  return QEMU_ARCHITECTURES[normalizePlatform(p).architecture]
}

// Images are built for Linux whatever the runner's OS, so the host is always a Linux platform.
const NODE_ARCHITECTURES: Record<string, Platform> = {
  x64: { os: 'linux', architecture: 'amd64' },
  arm64: { os: 'linux', architecture: 'arm64' },
  arm: { os: 'linux', architecture: 'arm', variant: 'v7' },
  ia32: { os: 'linux', architecture: '386' },
  // Node reports ppc64 for little-endian POWER too, the only POWER Linux it ships for.
  ppc64: { os: 'linux', architecture: 'ppc64le' },
  s390x: { os: 'linux', architecture: 's390x' },
  riscv64: { os: 'linux', architecture: 'riscv64' },
  loong64: { os: 'linux', architecture: 'loong64' },
  mips64el: { os: 'linux', architecture: 'mips64le' },
  mipsel: { os: 'linux', architecture: 'mipsle' },
  mips: { os: 'linux', architecture: 'mips' }
}

/** The platform of the runner, from Node's process.arch. */
export function hostPlatform(nodeArch: string = process.arch): Platform {
  const platform = NODE_ARCHITECTURES[nodeArch]
  if (platform === undefined) {
    throw new Error(`Unsupported runner architecture "${nodeArch}": no container platform is known for it`)
  }
  return { ...platform }
}

/**
 * Platforms the host runs without emulation. Conservative on purpose: many arm64 servers
 * (Graviton 2 and later, Ampere) have no AArch32 mode, so arm64 does not claim arm/v7.
 */
export function nativePlatforms(host: Platform): Platform[] {
  const self = normalizePlatform(host)
  if (self.architecture === 'amd64') {
    const base: Platform[] = self.variant ? [self, { os: self.os, architecture: 'amd64' }] : [self]
    return [...base, { os: self.os, architecture: '386' }]
  }
  return [self]
}

/** os/arch[/variant] split as written, without validation: for platform strings the registry or BuildKit produced. */
export function splitPlatform(s: string): Platform {
  const [os = '', architecture = '', variant] = s.trim().split('/')
  return variant ? { os, architecture, variant } : { os, architecture }
}
