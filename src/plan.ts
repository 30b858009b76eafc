import { isPullRequestEvent, type RunContext } from './context.js'
import { planLogins, type Credential } from './credentials.js'
import type { Inputs } from './inputs.js'
import { latestFromReleases } from './latest.js'
import type { PhaseLog } from './phases.js'
import { deriveTags, imageRefs, ociLabels, type TagPlan } from './tags.js'

/** Everything main decides before the first side effect. */
export interface ReleasePlan {
  ctx: RunContext
  inputs: Inputs
  tags: TagPlan
  refs: string[]
  push: boolean
  logins: Credential[]
  /** merge-digests given: no build, an index from the legs. */
  merging: boolean
}

export function planRelease(ctx: RunContext, inputs: Inputs): ReleasePlan {
  const tags = deriveTags(ctx, { version: inputs.version, tags: inputs.tags, latest: inputs.latest })
  const push = inputs.push === 'true' || (inputs.push === 'auto' && !isPullRequestEvent(ctx.eventName))
  // Without a push nothing needs the job token; explicit credentials still serve private base images.
  const logins = planLogins(inputs.credentials, push ? inputs.images : [], inputs.githubToken, ctx.actor)
  return { ctx, inputs, tags, refs: imageRefs(inputs.images, tags.tags), push, logins, merging: Object.keys(inputs.mergeDigests).length > 0 }
}

/**
 * Checks that can fail a release (verify: strict, a smoke test) run before the tags move:
 * the build pushes by digest, and the tags follow once the checks pass.
 */
export function gatesTags(plan: ReleasePlan): boolean {
  const { inputs } = plan
  return plan.push && !inputs.pushByDigest && (inputs.verify === 'strict' || inputs.smokeTest !== '')
}

/** The OCI labels (and merged-index annotations) of this release, stamped now. */
export function generatedLabels(plan: ReleasePlan): Record<string, string> {
  const { ctx } = plan
  return ociLabels(ctx, plan.tags.version, new Date().toISOString(), ctx.repository.split('/')[1] ?? '')
}

/**
 * latest: auto tags latest (and 1.2, 1) only for the highest stable release of each, so a
 * back-port never moves them back; the repository's releases decide.
 */
export async function checkLatest(plan: ReleasePlan, log: PhaseLog): Promise<void> {
  const { inputs, ctx, tags } = plan
  if (!plan.push || inputs.pushByDigest || inputs.latest !== 'auto' || !tags.latest || !tags.semver) return
  const { major, minor, patch } = tags.semver
  const decision = await latestFromReleases({ version: `${major}.${minor}.${patch}`, repository: ctx.repository, token: inputs.githubToken, apiUrl: ctx.apiUrl })
  if (decision.warning) log.warning(decision.warning)
  const dropped = new Set((decision.outranked ?? []).map(o => o.tag))
  for (const o of decision.outranked ?? []) log.info(`no ${o.tag}: the release ${o.by} is higher in that line`)
  tags.latestReason = decision.reason
  if (!decision.latest) {
    dropped.add('latest')
    tags.latest = false
  }
  if (dropped.size === 0) return
  tags.tags = tags.tags.filter(t => !dropped.has(t))
  plan.refs = imageRefs(inputs.images, tags.tags)
}
