/**
 * "Insert into notebook" must never let a stored name add code to the cell: every value is a
 * Python string literal and no comment carries one. These tests lex the generated snippets
 * the way Python's tokenizer sees string literals and check that hostile names stay inside
 * them (tests/jupyter/test_snippet_python.py checks the same with Python's own parser).
 */
import { ISnippetTarget, loadSnippet, makeURI, pyStr } from '../format';

/** One source line split into what is outside string literals and the literals' values. */
interface ILexedLine {
  code: string;
  literals: string[];
}

function decodeEscape(body: string, i: number): [string, number] {
  const c = body[i];
  const simple: { [k: string]: string } = {
    '\\': '\\',
    '"': '"',
    "'": "'",
    n: '\n',
    r: '\r',
    t: '\t'
  };
  if (c in simple) {
    return [simple[c], i + 1];
  }
  const width = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
  if (!width) {
    throw new Error(`escape \\${c} is not one pyStr writes`);
  }
  const digits = body.slice(i + 1, i + 1 + width);
  if (!new RegExp(`^[0-9a-f]{${width}}$`).test(digits)) {
    throw new Error(`bad escape \\${c}${digits}`);
  }
  return [String.fromCodePoint(parseInt(digits, 16)), i + 1 + width];
}

/**
 * Lex one line of Python: single- or double-quoted literals with backslash escapes. Throws
 * on a literal that does not end on its line and on triple quotes (never generated).
 */
function lexLine(line: string): ILexedLine {
  let code = '';
  const literals: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === '#') {
      code += line.slice(i); // a comment: counted as code (no value may appear in one)
      break;
    }
    if (c !== '"' && c !== "'") {
      code += c;
      i++;
      continue;
    }
    if (line.startsWith(c.repeat(3), i)) {
      throw new Error(`triple-quoted string in ${JSON.stringify(line)}`);
    }
    let value = '';
    i++;
    for (;;) {
      if (i >= line.length) {
        throw new Error(`unterminated literal in ${JSON.stringify(line)}`);
      }
      const d = line[i];
      if (d === c) {
        i++;
        break;
      }
      if (d === '\\') {
        const [piece, next] = decodeEscape(line, i + 1);
        value += piece;
        i = next;
      } else {
        value += d;
        i++;
      }
    }
    literals.push(value);
    code += '""';
  }
  return { code, literals };
}

/** Characters that end a line for Python, an editor, `str.splitlines` or JavaScript. */
const LINE_BREAKS = /[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]/;

const MARK = 'PWNED';
const HOSTILE = [
  `x\nimport os; os.system("echo ${MARK}")`,
  `x\rimport os  # ${MARK}`,
  `x\r\n${MARK}()`,
  `a"b ${MARK}`,
  `a'b ${MARK}`,
  `trailing backslash ${MARK}\\`,
  `x\\"; ${MARK}() #`,
  `"""${MARK}"""`,
  `'''${MARK}'''`,
  `x\u2028${MARK}()`,
  `x\u2029${MARK}()`,
  `x\u0085${MARK}()`,
  `\u202e${MARK} reversed \u2066isolate\u2069`,
  `nul\u0000 del\u007f esc\u001b[31m ${MARK}`,
  `form\ffeed vtab\v fs\x1c ${MARK}`,
  `emoji 😀 math 𝔘 ${MARK}`,
  `lone \ud800 surrogate ${MARK}`,
  `zero\u200bwidth bom\ufeff ${MARK}`
];

function targets(value: string): ISnippetTarget[] {
  const base = { repo: 'demo', ref: 'main', path: 'models/bert', home: '/data/store' };
  const out: ISnippetTarget[] = [];
  for (const kind of ['file', 'dir'] as const) {
    for (const format of [null, 'huggingface', 'safetensors', 'csv', 'tsv', 'onnx']) {
      out.push({ ...base, kind, format, path: `models/${value}/x` });
      out.push({ ...base, kind, format, path: value });
      out.push({ ...base, kind, format, home: value });
      out.push({ ...base, kind, format, repo: value, ref: value });
      out.push({ ...base, kind, format, home: null, path: value });
    }
  }
  return out;
}

function benign(t: ISnippetTarget): ISnippetTarget {
  return { ...t, repo: 'r', ref: 'main', path: 'p', home: t.home ? '/h' : null };
}

describe('pyStr', () => {
  it('round-trips every BMP code point and non-BMP characters', () => {
    const samples: string[] = [];
    for (let cp = 0; cp < 0x10000; cp += 1) {
      samples.push(String.fromCharCode(cp));
    }
    samples.push('😀', '𝔘', '\u{e0001}', '\u{10ffff}', 'mixed 😀\n\ud800"\\');
    // one expect for all of them: 65k expects take 20 s
    const wrong = samples.filter(s => {
      const lit = pyStr(s);
      const lexed = lexLine(lit);
      return (
        LINE_BREAKS.test(lit) ||
        lexed.code !== '""' ||
        lexed.literals.length !== 1 ||
        lexed.literals[0] !== s
      );
    });
    expect(wrong).toEqual([]);
  });

  it('escapes by name, by code, and leaves printable Unicode alone', () => {
    expect(pyStr('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(pyStr('\n\r\t')).toBe('"\\n\\r\\t"');
    expect(pyStr('\u0000\u007f\u0085')).toBe('"\\x00\\x7f\\x85"');
    expect(pyStr('\u2028\u2029\u202e\ufeff')).toBe('"\\u2028\\u2029\\u202e\\ufeff"');
    expect(pyStr('\u{e0001}')).toBe('"\\U000e0001"');
    expect(pyStr('\ud800')).toBe('"\\ud800"');
    expect(pyStr('Größe 😀 模型')).toBe('"Größe 😀 模型"');
    expect(pyStr("it's")).toBe('"it\'s"');
  });
});

describe('loadSnippet with hostile names', () => {
  it('keeps every value inside a one-line string literal', () => {
    let checked = 0;
    for (const value of HOSTILE) {
      for (const t of targets(value)) {
        const code = loadSnippet(t);
        const lines = code.split('\n');
        // no line break of any kind besides the snippet's own \n between statements
        for (const line of lines) {
          expect(LINE_BREAKS.test(line)).toBe(false);
        }
        // the same statements as with harmless names
        expect(lines.length).toBe(loadSnippet(benign(t)).split('\n').length);
        const lexed = lines.map(lexLine);
        for (const { code: outside } of lexed) {
          expect(outside).not.toContain(MARK);
          expect(outside).not.toContain('import os');
        }
        // the values are there, exactly, as literals
        const literals = lexed.flatMap(l => l.literals);
        if (t.kind === 'file') {
          expect(literals).toContain(makeURI(t.repo, t.ref, t.path));
        } else {
          expect(literals).toContain(makeURI(t.repo, t.ref, t.path));
          expect(literals).toContain(t.repo);
          expect(literals).toContain(t.ref);
          if (t.path) {
            expect(literals).toContain(t.path);
          }
        }
        if (t.home) {
          expect(literals).toContain(t.home);
        }
        checked++;
      }
    }
    expect(checked).toBe(HOSTILE.length * 60);
  });

  it('puts the URI of a checkout in a variable, not a comment', () => {
    const code = loadSnippet({
      repo: 'r',
      ref: 'main',
      path: 'evil\nimport os',
      kind: 'dir'
    });
    expect(code).toContain('uri = "blacklake://r/main/evil\\nimport os"');
    expect(code).not.toMatch(/#.*blacklake:/);
    expect(code.split('\n').filter(l => l.startsWith('import'))).toEqual([
      'import blacklake_ml as bl'
    ]);
  });
});
