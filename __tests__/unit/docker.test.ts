import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { DockerCli, onPath } from '../../src/docker.js'

// A real process stands in for docker: /bin/sh runs what the tests give it.
const settled = async (p: Promise<unknown>): Promise<boolean> => {
  let done = false
  void p.then(() => (done = true))
  await new Promise(resolve => setTimeout(resolve, 20))
  return done
}

describe('DockerCli', () => {
  test('returns stdout, stderr and the exit code, and names the command when it fails', async () => {
    const cli = new DockerCli('/bin/sh')
    await expect(cli.run(['-c', 'echo out; echo err >&2'], { silent: true })).resolves.toEqual({ exitCode: 0, stdout: 'out\n', stderr: 'err\n' })
    await expect(cli.run(['-c', 'exit 3'], { silent: true, allowFailure: true })).resolves.toMatchObject({ exitCode: 3 })
    await expect(cli.run(['-c', 'echo bad >&2; exit 3'], { silent: true })).rejects.toThrow('`sh -c echo bad >&2; exit 3` failed with exit code 3:\nbad')
  })

  test('spawned settles while the first calls run, not before any call', async () => {
    const cli = new DockerCli('/bin/sh')
    expect(await settled(cli.spawned)).toBe(false)
    const t0 = Date.now()
    const calls = Promise.all([cli.run(['-c', 'sleep 1'], { silent: true }), cli.run(['-c', 'sleep 1'], { silent: true })])
    await cli.spawned
    // Long before the calls end (1 s): it marks their start.
    expect(Date.now() - t0).toBeLessThan(700)
    await calls
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000)
  })

  test('spawned settles also when docker cannot be started', async () => {
    const cli = new DockerCli('/nonexistent/docker')
    await expect(cli.run(['version'], { silent: true })).rejects.toMatchObject({ command: 'docker version', exitCode: 127 })
    expect(await settled(cli.spawned)).toBe(true)
  })
})

describe('onPath', () => {
  test('the first executable file of that name in PATH order', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'onpath-'))
    try {
      const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(n => path.join(root, n))
      for (const dir of [a, b, c, d]) mkdirSync(dir)
      writeFileSync(path.join(a, 'docker'), 'not executable')
      chmodSync(path.join(a, 'docker'), 0o644)
      mkdirSync(path.join(b, 'docker'))
      chmodSync(path.join(b, 'docker'), 0o755)
      for (const dir of [c, d]) writeFileSync(path.join(dir, 'docker'), '#!/bin/sh\n', { mode: 0o755 })
      expect(onPath('docker', ['', a, b, c, d].join(path.delimiter))).toBe(path.join(c, 'docker'))
      expect(onPath('docker', [a, b].join(path.delimiter))).toBeUndefined()
      expect(onPath('docker', '')).toBeUndefined()
      expect(onPath('./docker', c)).toBeUndefined()
    } finally {
      rmSync(root, { recursive: true, force: true })
    }
  })
})
