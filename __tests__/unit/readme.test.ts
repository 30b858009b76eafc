import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { load } from 'js-yaml'
import { describeDrift, readSection, renderTables, updateReadme } from '../../scripts/docs.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const actionText = readFileSync(path.join(repoRoot, 'action.yml'), 'utf8')
const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8')

interface ActionYaml {
  inputs: Record<string, { description?: string; default?: unknown; required?: boolean }>
  outputs: Record<string, { description?: string }>
}
const action = load(actionText) as ActionYaml
const inputNames = Object.keys(action.inputs)
const outputNames = Object.keys(action.outputs)

/** The ```yaml blocks of a Markdown text, with the line each starts on. */
function yamlBlocks(markdown: string): { line: number; text: string }[] {
  const blocks: { line: number; text: string }[] = []
  for (const m of markdown.matchAll(/^```ya?ml[^\n]*\n([\s\S]*?)^```/gm)) {
    blocks.push({ line: markdown.slice(0, m.index).split('\n').length, text: m[1] })
  }
  return blocks
}

function isThisAction(uses: unknown): boolean {
  return typeof uses === 'string' && (uses === './' || /^[^/\s]+\/multiarch-release@\S+$/.test(uses))
}

interface StepLike {
  id?: unknown
  uses?: unknown
  with?: unknown
}

/** Every mapping in a parsed document that looks like a step: it has `uses`, `run` or `with`. */
function stepsIn(doc: unknown): StepLike[] {
  const found: StepLike[] = []
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk)
    } else if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>
      if ('uses' in record || 'run' in record || 'with' in record) found.push(record)
      Object.values(record).forEach(walk)
    }
  }
  walk(doc)
  return found
}

const blocks = yamlBlocks(readme).map(block => ({ ...block, doc: load(block.text) as unknown }))

describe('README tables', () => {
  const tables = renderTables(actionText)

  test.each(['inputs', 'outputs'] as const)('the %s table is what scripts/docs.js renders from action.yml', name => {
    expect(readSection(readme, name)).toEqual(tables[name])
  })

  test('README.md is byte for byte what `node scripts/docs.js` would write', () => {
    expect(describeDrift(readme, tables)).toBe('')
    expect(updateReadme(readme, tables)).toBe(readme)
  })

  test.each(inputNames)('input %s has a row in the inputs table', name => {
    expect(readSection(readme, 'inputs').split('\n')).toContainEqual(expect.stringMatching(new RegExp(`^\\| \`${name}\` \\|`)))
  })

  test.each(outputNames)('output %s has a row in the outputs table', name => {
    expect(readSection(readme, 'outputs').split('\n')).toContainEqual(expect.stringMatching(new RegExp(`^\\| \`${name}\` \\|`)))
  })
})

describe('README examples', () => {
  test('every ```yaml block parses', () => {
    expect(blocks.length).toBeGreaterThan(5)
    for (const block of blocks) expect(block.doc).toBeTruthy()
  })

  test('every with: key given to the action is an input of action.yml', () => {
    const unknown: string[] = []
    for (const block of blocks) {
      for (const step of stepsIn(block.doc)) {
        // A step without `uses` is a fragment of this action's step (its `with:` alone).
        if (step.uses !== undefined && !isThisAction(step.uses)) continue
        for (const key of Object.keys((step.with as Record<string, unknown> | undefined) ?? {})) {
          if (!inputNames.includes(key)) unknown.push(`README.md block at line ${block.line}: ${key}`)
        }
      }
    }
    expect(unknown).toEqual([])
  })

  test('every steps.<id>.outputs.<name> names a step of the examples, and this action\'s outputs exist', () => {
    const ours = new Set<string>()
    const others = new Set<string>()
    for (const block of blocks) {
      for (const step of stepsIn(block.doc)) {
        if (typeof step.id !== 'string') continue
        ;(isThisAction(step.uses) ? ours : others).add(step.id)
      }
    }
    expect(ours.size).toBeGreaterThan(0)
    const problems: string[] = []
    const refs = [...readme.matchAll(/steps\.([A-Za-z0-9_-]+)\.outputs(?:\.([A-Za-z0-9_-]+)|\[\s*'([^']+)'\s*\])/g)]
    expect(refs.length).toBeGreaterThan(0)
    for (const m of refs) {
      const [ref, id, dotted, bracketed] = m
      const output = dotted ?? bracketed
      if (ours.has(id)) {
        if (!outputNames.includes(output)) problems.push(`${ref}: action.yml has no output ${output}`)
      } else if (!others.has(id)) {
        problems.push(`${ref}: no example defines a step with id ${id}`)
      }
    }
    expect(problems).toEqual([])
  })

  test('every `name: value` input shown inline in the prose is an input of action.yml', () => {
    // Inline code like `push: auto` or `logout: false` outside the yaml blocks; the rest are workflow keys and messages.
    const notInputNames = ['permissions', 'packages', 'flavor', 'timeout-minutes', 'denied']
    const prose = readme.replace(/^```[\s\S]*?^```/gm, '')
    const shown = [...prose.matchAll(/`([a-z][a-z0-9-]*): [^`]+`/g)].map(m => m[1])
    const notInputs = shown.filter(name => !inputNames.includes(name) && !notInputNames.includes(name))
    expect(notInputs).toEqual([])
  })
})

describe('renderTables', () => {
  test('one row per input and output, in action.yml order, with defaults as code', () => {
    const yaml = [
      'name: x',
      'inputs:',
      '  first:',
      "    description: 'The first.'",
      "    default: 'a'",
      '  second:',
      "    description: 'The second.'",
      "    default: ''",
      '  third:',
      "    description: 'Needed.'",
      '    required: true',
      'outputs:',
      '  out:',
      "    description: 'An output.'"
    ].join('\n')
    expect(renderTables(yaml)).toEqual({
      inputs: [
        '| Input | Description | Default |',
        '| --- | --- | --- |',
        '| `first` | The first. | `a` |',
        '| `second` | The second. |  |',
        '| `third` | Needed. | required |'
      ].join('\n'),
      outputs: ['| Output | Description |', '| --- | --- |', '| `out` | An output. |'].join('\n')
    })
  })

  test.each<[string, string, string]>([
    ['| in prose', 'a | b', 'a \\| b'],
    ['| in an example', 'Pick one. Example: a|b', 'Pick one. Example: `a\\|b`'],
    ['<placeholders> are not HTML', 'Default: ghcr.io/<owner>/<repo>.', 'Default: ghcr.io/&lt;owner&gt;/&lt;repo&gt;.'],
    ['& stays literal', 'this & that', 'this &amp; that'],
    ['backticks in an example', 'Run it. Example: echo `id`', 'Run it. Example: `` echo `id` ``'],
    ['a multi-line description is one line', 'One.\nTwo.', 'One. Two.'],
    ['an expression in an example', 'Token. Example: ${{ secrets.T }}', 'Token. Example: `${{ secrets.T }}`']
  ])('escapes %s', (_name, description, cell) => {
    const yaml = `inputs:\n  x:\n    description: ${JSON.stringify(description)}\n    default: ''\n`
    expect(renderTables(yaml).inputs.split('\n')[2]).toBe(`| \`x\` | ${cell} |  |`)
  })

  test('| in a default is escaped', () => {
    expect(renderTables("inputs:\n  x:\n    description: 'X.'\n    default: 'a|b'\n").inputs.split('\n')[2]).toBe('| `x` | X. | `a\\|b` |')
  })

  test('a YAML boolean or number default is shown as written', () => {
    const rows = renderTables('inputs:\n  a:\n    description: A.\n    default: false\n  b:\n    description: B.\n    default: 3\n').inputs.split('\n')
    expect(rows.slice(2)).toEqual(['| `a` | A. | `false` |', '| `b` | B. | `3` |'])
  })

  test('an action without outputs has an empty outputs table', () => {
    expect(renderTables("inputs:\n  a:\n    description: 'A.'\n").outputs).toBe('| Output | Description |\n| --- | --- |')
  })

  test('a document that is not a mapping is rejected', () => {
    expect(() => renderTables('- a\n- b\n')).toThrow(/not a mapping/)
  })
})

describe('updateReadme and readSection', () => {
  const tables = { inputs: '| Input |\n| --- |\n| `a` |', outputs: '| Output |\n| --- |\n| `o` |' }
  const stale = '# T\n\n<!-- inputs:start -->\n| old |\n<!-- inputs:end -->\n\ntext\n\n<!-- outputs:start -->\n<!-- outputs:end -->\n'

  test('replaces only what lies between the markers, with blank lines around each table', () => {
    expect(updateReadme(stale, tables)).toBe(
      '# T\n\n<!-- inputs:start -->\n\n| Input |\n| --- |\n| `a` |\n\n<!-- inputs:end -->\n\ntext\n\n' +
        '<!-- outputs:start -->\n\n| Output |\n| --- |\n| `o` |\n\n<!-- outputs:end -->\n'
    )
  })

  test('is idempotent', () => {
    const once = updateReadme(stale, tables)
    expect(updateReadme(once, tables)).toBe(once)
    expect(describeDrift(once, tables)).toBe('')
  })

  test('describeDrift shows the rows README has and lacks', () => {
    expect(describeDrift(stale, tables)).toBe(
      ['inputs table:', '- | old |', '+ | Input |', '+ | --- |', '+ | `a` |', 'outputs table:', '+ | Output |', '+ | --- |', '+ | `o` |'].join('\n')
    )
  })

  test.each([
    ['missing markers', '# T\n', /no <!-- inputs:start -->/],
    ['an end before its start', '<!-- inputs:end -->\n<!-- inputs:start -->\n<!-- outputs:start --><!-- outputs:end -->', /before/],
    ['markers twice', '<!-- inputs:start --><!-- inputs:end --><!-- inputs:start --><!-- inputs:end --><!-- outputs:start --><!-- outputs:end -->', /more than once/]
  ])('rejects %s', (_name, text, message) => {
    expect(() => updateReadme(text, tables)).toThrow(message)
  })
})

describe('node scripts/docs.js --check', () => {
  const script = path.join(repoRoot, 'scripts', 'docs.js')
  let dir: string

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'docs-check-'))
  })
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true })
  })

  function check(readmeText: string): { status: number | null; stderr: string; stdout: string } {
    const file = path.join(dir, 'README.md')
    writeFileSync(file, readmeText)
    const result = spawnSync(process.execPath, [script, '--check', '--readme', file, '--action', path.join(repoRoot, 'action.yml')], {
      encoding: 'utf8'
    })
    expect(readFileSync(file, 'utf8')).toBe(readmeText)
    return { status: result.status, stderr: result.stderr, stdout: result.stdout }
  }

  test('exits 0 on the committed README', () => {
    expect(check(readme).status).toBe(0)
  })

  test('exits 1 and names the row when an input is missing from README', () => {
    const row = readSection(readme, 'inputs').split('\n').find(line => line.startsWith('| `platforms` |'))!
    const result = check(readme.replace(`${row}\n`, ''))
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('README.md is out of date')
    expect(result.stderr).toContain(`+ ${row}`)
  })

  test('exits 1 when a description in README differs from action.yml', () => {
    const result = check(readme.replace('| `digest` | Digest of what', '| `digest` | The digest of what'))
    expect(result.status).toBe(1)
    expect(result.stderr).toMatch(/^- \| `digest` \| The digest of what/m)
  })

  test('exits 1 when the markers are gone', () => {
    const result = check(readme.replace('<!-- outputs:end -->', ''))
    expect(result.status).toBe(1)
    expect(result.stderr).toContain('<!-- outputs:end -->')
  })
})
