// Writes the inputs and outputs tables of README.md from action.yml, so the two never drift:
//   node scripts/docs.js           rewrite README.md between the markers
//   node scripts/docs.js --check   exit 1, showing what differs, when README.md is out of date
// --readme FILE and --action FILE replace README.md and action.yml (for tests).
import { readFileSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { load } from 'js-yaml'
import { invokedDirectly } from './invoked.js'

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

/** The README sections this script owns, in the order they appear. */
export const SECTIONS = ['inputs', 'outputs']

export function markers(name) {
  return { start: `<!-- ${name}:start -->`, end: `<!-- ${name}:end -->` }
}

/** Table cell text: one line, `|` escaped, `<` and `>` shown as typed instead of read as HTML. */
function prose(text) {
  return String(text)
    .replace(/\s*\r?\n\s*/g, ' ')
    .trim()
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/\|/g, '\\|')
}

/** A code span that survives backticks in the value; `|` still needs its escape inside a table. */
function code(text) {
  const value = String(text).replace(/\s*\r?\n\s*/g, ' ')
  const longest = Math.max(0, ...(value.match(/`+/g) ?? []).map(run => run.length))
  const fence = '`'.repeat(longest + 1)
  const pad = value.startsWith('`') || value.endsWith('`') ? ' ' : ''
  return `${fence}${pad}${value.replace(/\|/g, '\\|')}${pad}${fence}`
}

/** The description, with a trailing "Example: ..." shown as code. */
function description(text) {
  if (text === undefined || text === null) return ''
  const m = /^([\s\S]*?)\s*\bExample: ([\s\S]+)$/.exec(String(text).trim())
  if (!m) return prose(text)
  return `${prose(m[1])}${m[1] ? ' ' : ''}Example: ${code(m[2].trim())}`
}

function defaultCell(spec) {
  if (spec.required === true) return 'required'
  if (!('default' in spec) || spec.default === null || spec.default === undefined) return ''
  const value = String(spec.default)
  return value === '' ? '' : code(value)
}

function mapping(doc, key) {
  const value = doc[key]
  if (value === undefined || value === null) return {}
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`action.yml: ${key} is not a mapping`)
  return value
}

/** The inputs and outputs tables of an action.yml, as Markdown without the markers. */
export function renderTables(actionYamlText) {
  const doc = load(actionYamlText)
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('action.yml is not a mapping')
  const spec = value => (value && typeof value === 'object' ? value : {})

  const inputs = ['| Input | Description | Default |', '| --- | --- | --- |']
  for (const [name, value] of Object.entries(mapping(doc, 'inputs'))) {
    const s = spec(value)
    inputs.push(`| ${code(name)} | ${description(s.description)} | ${defaultCell(s)} |`)
  }
  const outputs = ['| Output | Description |', '| --- | --- |']
  for (const [name, value] of Object.entries(mapping(doc, 'outputs'))) {
    outputs.push(`| ${code(name)} | ${description(spec(value).description)} |`)
  }
  return { inputs: inputs.join('\n'), outputs: outputs.join('\n') }
}

function locate(text, name) {
  const { start, end } = markers(name)
  const from = text.indexOf(start)
  const to = text.indexOf(end)
  if (from < 0 || to < 0) throw new Error(`README.md has no ${start} ... ${end} markers`)
  if (text.indexOf(start, from + 1) >= 0 || text.indexOf(end, to + 1) >= 0) {
    throw new Error(`README.md has the ${name} markers more than once`)
  }
  if (to < from) throw new Error(`README.md has ${end} before ${start}`)
  return { contentStart: from + start.length, contentEnd: to }
}

/** What README.md holds between a section's markers, without the surrounding blank lines. */
export function readSection(text, name) {
  const { contentStart, contentEnd } = locate(text, name)
  return text.slice(contentStart, contentEnd).trim()
}

/** README.md with every section's content replaced by the given tables. */
export function updateReadme(text, tables) {
  let result = text
  for (const name of SECTIONS) {
    const { contentStart, contentEnd } = locate(result, name)
    // Blank lines around the table: a marker line right after the last row could be read as one more row.
    result = `${result.slice(0, contentStart)}\n\n${tables[name]}\n\n${result.slice(contentEnd)}`
  }
  return result
}

/** A line-set diff of each section that differs, for the --check message; empty when all agree. */
export function describeDrift(text, tables) {
  const out = []
  for (const name of SECTIONS) {
    const section = readSection(text, name)
    const current = section === '' ? [] : section.split('\n')
    const wanted = tables[name].split('\n')
    if (current.join('\n') === wanted.join('\n')) continue
    const have = new Set(current)
    const want = new Set(wanted)
    out.push(`${name} table:`)
    for (const line of current) if (!want.has(line)) out.push(`- ${line}`)
    for (const line of wanted) if (!have.has(line)) out.push(`+ ${line}`)
    if (out.at(-1) === `${name} table:`) out.push('  (same rows, different order)')
  }
  return out.join('\n')
}

function main(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      check: { type: 'boolean' },
      readme: { type: 'string' },
      action: { type: 'string' }
    }
  })
  const readmeFile = path.resolve(values.readme ?? path.join(repoRoot, 'README.md'))
  const actionFile = path.resolve(values.action ?? path.join(repoRoot, 'action.yml'))
  const tables = renderTables(readFileSync(actionFile, 'utf8'))
  const readme = readFileSync(readmeFile, 'utf8')
  const updated = updateReadme(readme, tables)
  if (values.check) {
    if (updated === readme) {
      process.stdout.write('README.md tables match action.yml\n')
      return 0
    }
    const drift = describeDrift(readme, tables) || 'only the blank lines around the tables differ'
    process.stderr.write(
      `README.md is out of date with action.yml (- in README.md, + from action.yml):\n${drift}\n` +
        'Run `node scripts/docs.js` and commit README.md.\n'
    )
    return 1
  }
  if (updated === readme) {
    process.stdout.write('README.md is up to date\n')
  } else {
    writeFileSync(readmeFile, updated)
    process.stdout.write('README.md tables rewritten from action.yml\n')
  }
  return 0
}

if (invokedDirectly(import.meta.url)) {
  try {
    process.exitCode = main(process.argv.slice(2))
  } catch (e) {
    // Missing markers or an unreadable action.yml mean the README cannot be checked: also a failure.
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`)
    process.exitCode = 1
  }
}
