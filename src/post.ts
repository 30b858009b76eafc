import * as core from '@actions/core'
import * as fs from 'node:fs'
import { removeBuilder } from './builder.js'
import { DockerCli } from './docker.js'
import { removePrivateConfig } from './dockerconfig.js'
import { errorMessage } from './errors.js'
import { logout } from './login.js'
import { readState } from './state.js'

/** Undoes what main created, from what main saved; every failure is only a warning. */
export async function cleanup(docker: DockerCli = new DockerCli()): Promise<void> {
  const saved = readState()
  if (saved.buildxPath && fs.existsSync(saved.buildxPath)) docker.buildxPath = saved.buildxPath
  const privateConfig = saved.dockerConfig && fs.existsSync(saved.dockerConfig) ? saved.dockerConfig : ''
  if (privateConfig) process.env.DOCKER_CONFIG = privateConfig

  // The builder's removal runs beside the logouts (the post step costs the longer of the two, not
  // the sum); the logouts run one after another, since each rewrites config.json.
  const logouts = async (): Promise<void> => {
    for (const registry of saved.logins) await attempt(`log out of ${registry}`, () => logout(docker, registry))
  }
  const removal = async (): Promise<void> => {
    if (!saved.builder) return
    await attempt(`remove builder ${saved.builder}`, async () => {
      core.info(`builder ${saved.builder}: ${await removeBuilder(docker, saved.builder)}`)
    })
  }
  await Promise.all([logouts(), removal()])
  if (privateConfig) {
    await attempt('remove the private Docker config', async () => removePrivateConfig(privateConfig))
  }
}

async function attempt(what: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch (e: unknown) {
    core.warning(`Could not ${what}: ${errorMessage(e)}`)
  }
}
