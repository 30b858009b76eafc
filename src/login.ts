import type { Docker } from './docker.js'
import type { Credential } from './credentials.js'

export function loginArgs(credential: Credential): string[] {
  // The password never enters argv: it goes through stdin.
  return ['login', '--username', credential.username, '--password-stdin', credential.registry]
}

export function logoutArgs(registry: string): string[] {
  return ['logout', registry]
}

/** Turns the CLI's answer to a failed login into what to fix. */
export function loginFailureHint(registry: string, stderr: string): string {
  if (/unauthorized|incorrect username or password|401/i.test(stderr)) {
    if (registry === 'ghcr.io') {
      return 'the credentials were refused (401): check the token, and that the job has `permissions: packages: write`'
    }
    if (registry === 'docker.io') return 'the credentials were refused (401): check the user name and use an access token with write scope'
    return 'the credentials were refused (401): check username and password'
  }
  if (/denied|403/i.test(stderr)) return 'access denied (403): the account lacks permission on this registry'
  if (/connection refused|no such host|i\/o timeout|dial tcp/i.test(stderr)) return 'the registry could not be reached'
  return 'see the error above'
}

export async function login(docker: Docker, credential: Credential): Promise<void> {
  const result = await docker.run(loginArgs(credential), { input: credential.password, silent: true, allowFailure: true })
  if (result.exitCode !== 0) {
    const reason = result.stderr.trim().split('\n').slice(-3).join('\n')
    throw new Error(`Login to ${credential.registry} as ${credential.username} failed: ${loginFailureHint(credential.registry, reason)}\n${reason}`)
  }
}

export async function logout(docker: Docker, registry: string): Promise<void> {
  await docker.run(logoutArgs(registry), { silent: true })
}
