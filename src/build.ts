import type { Docker } from './docker.js'
import type { BuildSecret } from './inputs.js'

export interface BuildPlan {
  /** Builder to build on; empty uses the current one. */
  builder: string
  context: string
  file: string
  platforms: string[]
  /** Full references (image:tag). */
  tags: string[]
  /** Generated labels first, the user's after: the user's win. */
  labels: string[]
  annotations: string[]
  buildArgs: string[]
  target: string
  secrets: BuildSecret[]
  cacheFrom: string[]
  cacheTo: string[]
  provenance: string
  sbom: string
  noCache: boolean
  pull: boolean
  push: boolean
  /** Explicit exporters (push by digest, archives); when set they replace --push and --tag. */
  outputs?: string[]
  metadataFile: string
}

/** The environment variable that carries a secret's value, so it never appears in argv. */
export function secretEnvName(index: number): string {
  return `MULTIARCH_RELEASE_SECRET_${index}`
}

/** Labels as name=value, later entries overriding earlier ones with the same name. */
export function mergeLabels(...lists: string[][]): string[] {
  const merged = new Map<string, string>()
  for (const list of lists) {
    for (const label of list) {
      const eq = label.indexOf('=')
      merged.set(label.slice(0, eq), label.slice(eq + 1))
    }
  }
  return [...merged].map(([name, value]) => `${name}=${value}`)
}

export function buildArgs(plan: BuildPlan): string[] {
  const args = ['build']
  if (plan.builder) args.push('--builder', plan.builder)
  args.push('--platform', plan.platforms.join(','))
  if (plan.file) args.push('--file', plan.file)
  if (plan.target) args.push('--target', plan.target)
  for (const arg of plan.buildArgs) args.push('--build-arg', arg)
  for (const label of plan.labels) args.push('--label', label)
  for (const annotation of plan.annotations) args.push('--annotation', annotation)
  plan.secrets.forEach((secret, i) => args.push('--secret', `id=${secret.id},env=${secretEnvName(i)}`))
  const outputs = plan.outputs ?? []
  if (outputs.length === 0) for (const tag of plan.tags) args.push('--tag', tag)
  for (const from of plan.cacheFrom) args.push('--cache-from', from)
  for (const to of plan.cacheTo) args.push('--cache-to', to)
  if (plan.provenance) args.push(`--provenance=${plan.provenance}`)
  if (plan.sbom) args.push(`--sbom=${plan.sbom}`)
  if (plan.noCache) args.push('--no-cache')
  if (plan.pull) args.push('--pull')
  for (const output of outputs) args.push('--output', output)
  if (plan.push && outputs.length === 0) args.push('--push')
  args.push('--metadata-file', plan.metadataFile)
  // `--` keeps a context that starts with "-" from being read as a flag.
  args.push('--', plan.context)
  return args
}

export function secretEnv(secrets: BuildSecret[]): Record<string, string> {
  return Object.fromEntries(secrets.map((secret, i) => [secretEnvName(i), secret.value]))
}

export async function build(docker: Docker, plan: BuildPlan): Promise<void> {
  // Not silent: the build's progress streams to the log as it happens.
  await docker.buildx(buildArgs(plan), { env: secretEnv(plan.secrets) })
}
