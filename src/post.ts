import * as core from '@actions/core'
import * as fs from 'node:fs'
import { removeBuilder } from './builder.js'
import { DockerCli } from './docker.js'
import { keepsLoginsInside, removePrivateConfig } from './dockerconfig.js'
import { errorMessage } from './errors.js'
import { logout } from './login.js'
import { readState, type SavedState } from './state.js'

/** The post step: cleans up, and never fails the job. */
export async function runPost(): Promise<void> {
  await cleanup().catch((e: unknown) => {
    core.warning(errorMessage(e))
  })
}

/**
 * Undoes what main created, from what main saved; every failure is only a warning. Main runs it
 * itself after a release that went through, the post step after one that did not, or after a
 * cleanup in main that left something behind. True when everything was undone.
 */
export async function cleanup(docker: DockerCli = new DockerCli(), saved: SavedState = readState()): Promise<boolean> {
  let done = true
  if (saved.buildxPath && fs.existsSync(saved.buildxPath)) docker.buildxPath = saved.buildxPath
  const privateConfig = saved.dockerConfig && fs.existsSync(saved.dockerConfig) ? saved.dockerConfig : ''
  if (privateConfig) process.env.DOCKER_CONFIG = privateConfig

  // The builder's removal runs beside the logouts (the cleanup costs the longer of the two, not
  // the sum); the logouts run one after another, since each rewrites config.json. A private
  // config that holds the logins itself needs none: removing it removes the credentials.
  const attempt = async (what: string, fn: () => Promise<void>): Promise<void> => {
    try {
      await fn()
    } catch (e: unknown) {
      done = false
      core.warning(`Could not ${what}: ${errorMessage(e)}`)
    }
  }
  const logouts = async (): Promise<void> => {
    for (const registry of saved.logins) await attempt(`log out of ${registry}`, () => logout(docker, registry))
  }
  const removal = async (): Promise<void> => {
    if (!saved.builder) return
    await attempt(`remove builder ${saved.builder}`, async () => {
      core.info(`builder ${saved.builder}: ${await removeBuilder(docker, saved.builder)}`)
    })
  }
  const inside = privateConfig !== '' && keepsLoginsInside(privateConfig)
  await Promise.all([inside ? undefined : logouts(), removal()])
  if (privateConfig) {
    try {
      removePrivateConfig(privateConfig)
      if (inside && saved.logins.length > 0) core.info(`credentials for ${saved.logins.join(', ')} removed with the private Docker config`)
    } catch (e: unknown) {
      done = false
      core.warning(`Could not remove the private Docker config: ${errorMessage(e)}`)
      if (inside) await logouts()
    }
  }
  return done
}
