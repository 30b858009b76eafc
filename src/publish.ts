import * as core from '@actions/core'
import { mergeLabels, type BuildPlan } from './build.js'
import { scopeGhaCache } from './cache.js'
import { missingPlatforms, platformDigests } from './digests.js'
import type { Docker } from './docker.js'
import { errorMessage } from './errors.js'
import { Input } from './inputs.js'
import { indexAnnotations, mergeRelease, pushByDigestOutput } from './merge.js'
import type { ReleaseResult } from './outputs.js'
import { phase, type PhaseLog } from './phases.js'
import { gatesTags, generatedLabels, type ReleasePlan } from './plan.js'
import { formatPlatform, type Platform } from './platforms.js'
import { parseImageRef, type RegistryClient } from './registry.js'
import { logIn } from './setup.js'
import { imageRefs } from './tags.js'

export function buildPlan(plan: ReleasePlan, builder: string, metadataFile: string): BuildPlan {
  const { inputs } = plan
  const pushUntagged = plan.push && (inputs.pushByDigest || gatesTags(plan))
  return {
    builder,
    context: inputs.context,
    file: inputs.file,
    platforms: inputs.platforms.map(formatPlatform),
    tags: buildTags(plan),
    outputs: pushUntagged ? [pushByDigestOutput(inputs.images)] : [],
    labels: mergeLabels(Object.entries(generatedLabels(plan)).map(([k, v]) => `${k}=${v}`), inputs.labels),
    annotations: inputs.annotations,
    buildArgs: inputs.buildArgs,
    target: inputs.target,
    secrets: inputs.secrets,
    cacheFrom: scopeGhaCache(inputs.cacheFrom, inputs.images[0], inputs.platforms),
    cacheTo: scopeGhaCache(inputs.cacheTo, inputs.images[0], inputs.platforms),
    provenance: inputs.provenance,
    sbom: inputs.sbom,
    noCache: inputs.noCache,
    pull: inputs.pull,
    push: plan.push,
    metadataFile
  }
}

/**
 * The tags on the build command. A push carries the first tag of each image only: BuildKit
 * pushes every blob and manifest again for each further tag of an image (0.8 s a tag for
 * three platforms on the benchmark's registry), while tagIndex adds one with a single index
 * write. The first tag is the version, which the releases lookup never drops, so the build
 * need not wait for it. A push whose tags wait for checks, or a leg pushed by digest, carries none.
 */
export function buildTags(plan: ReleasePlan): string[] {
  if (!plan.push) return plan.refs
  if (plan.inputs.pushByDigest || gatesTags(plan)) return []
  return imageRefs(plan.inputs.images, plan.tags.tags.slice(0, 1))
}

/** The tags to add once the build has pushed (a leg pushed by digest gets its tags from the merge). */
export function tagsAfterBuild(plan: ReleasePlan): string[] {
  if (!plan.push || plan.inputs.pushByDigest) return []
  const pushed = new Set(buildTags(plan))
  return plan.refs.filter(ref => !pushed.has(ref))
}

/**
 * platform → image manifest digest, read back from the registry; every requested platform must
 * be there. The registry API answers first when this client can read the repository (the
 * checks read the same index next); otherwise `imagetools inspect` reads it, with the registry
 * settings (plain HTTP, mirrors) of the builder that pushed and with the retries of every call.
 */
export async function readDigests(
  docker: Docker,
  builder: string,
  ref: string,
  digest: string,
  platforms: Platform[],
  registry: RegistryClient | undefined,
  log: PhaseLog
): Promise<Record<string, string>> {
  let raw: string | undefined
  if (registry) {
    try {
      raw = await registry.manifestText(digest)
    } catch (e: unknown) {
      log.info(`the index is read with imagetools: the registry API did not give it (${errorMessage(e)})`)
    }
  }
  raw ??= (await docker.buildx(['imagetools', 'inspect', '--builder', builder, '--raw', ref], { silent: true })).stdout
  const found = platformDigests(raw, digest, platforms)
  const missing = missingPlatforms(found, platforms)
  if (missing.length > 0) {
    throw new Error(`The pushed index ${ref} has no manifest for ${missing.join(', ')}: the build did not produce every requested platform`)
  }
  return found.platforms
}

/**
 * Puts the pushed index under more tags: one index write each, nothing else pushed again.
 * Over the registry API when the client can write each repository (a PUT of the index
 * the build pushed there); otherwise with `imagetools create`, which has the builder's registry
 * settings and the retries of every call, and writes every tag again.
 */
export async function tagIndex(
  docker: Docker,
  builder: string,
  source: { image: string; digest: string },
  refs: string[],
  clientFor: ((image: string) => RegistryClient) | undefined,
  log: PhaseLog
): Promise<void> {
  let tagged = false
  if (clientFor) {
    try {
      await putTags(source.digest, refs, clientFor)
      tagged = true
    } catch (e: unknown) {
      log.info(`the tags are added with imagetools: the registry API did not take them (${errorMessage(e)})`)
    }
  }
  if (!tagged) {
    await docker.buildx(['imagetools', 'create', '--builder', builder, ...refs.flatMap(ref => ['--tag', ref]), `${source.image}@${source.digest}`], { silent: true })
  }
  for (const ref of refs) log.info(ref)
}

async function putTags(digest: string, refs: string[], clientFor: (image: string) => RegistryClient): Promise<void> {
  const byRepository = new Map<RegistryClient, string[]>()
  for (const ref of refs) {
    const client = clientFor(ref)
    byRepository.set(client, [...(byRepository.get(client) ?? []), parseImageRef(ref).reference])
  }
  await Promise.all(
    [...byRepository].map(async ([client, tags]) => {
      // Each repository's own copy: the build pushed the index to every image.
      const body = await client.manifestText(digest)
      const mediaType = (JSON.parse(body) as { mediaType?: unknown }).mediaType
      if (typeof mediaType !== 'string') throw new Error(`the index ${digest} names no mediaType`)
      await Promise.all(tags.map(tag => client.putManifest(tag, body, mediaType, digest)))
    })
  )
}

/** merge-digests: no build; one index from the legs, under every tag. */
export async function merge(docker: Docker, plan: ReleasePlan): Promise<ReleaseResult> {
  const { inputs } = plan
  const result: ReleaseResult = { version: plan.tags.version, images: inputs.images, tags: plan.refs, pushed: plan.push, digest: '', digests: {}, metadata: '{}' }
  await phase('Login', log => logIn(docker, plan, log))
  if (!plan.push) {
    core.info('push is off for this event: no index is created from the legs')
    return result
  }
  const { annotations, skipped } = indexAnnotations(generatedLabels(plan), inputs.annotations)
  for (const annotation of skipped) {
    core.warning(`annotation "${annotation}" is left out of the merged index: imagetools create writes only index: annotations`, { title: Input.annotations })
  }
  const merged = await phase('Merge', async log => {
    const m = await mergeRelease(docker, { images: inputs.images, refs: plan.refs, digests: inputs.mergeDigests, annotations })
    for (const [platform, digest] of Object.entries(m.digests)) log.info(`${platform}  ${digest}`)
    return m
  })
  for (const warning of merged.warnings) core.warning(warning)
  return { ...result, digest: merged.digest, digests: merged.digests }
}
