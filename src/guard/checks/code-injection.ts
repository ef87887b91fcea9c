// Output check `code_injection` (LLM05): text shaped like an injected SQL statement, a shell command chain or an
// interpreter exec idiom (Python, Ruby, Perl, PHP, Node). Callers paste model output into queries, templates and
// scripts, so these shapes go to a person instead of downstream. The patterns look for *syntax* (a quote breaking
// out, a statement keyword followed by its grammar, a command followed by flags or paths), never for single words,
// so ordinary help and marketing text ("select a plan from the list", "drop us a line") does not trip.
import { z } from 'zod';
import { FieldSelection, stringLeaves } from '../fields.js';
import { normaliseText } from '../normalise.js';
import type { CheckDefinition } from '../types.js';
import { decodeEntities } from '../urls.js';

export const CODE_FAMILIES = ['sql', 'shell', 'code'] as const;
export type CodeFamily = (typeof CODE_FAMILIES)[number];

// Commands that are unambiguous words: they trip at a line start too. The weak list reads as English ("cat", "set",
// "find", "net"), so those only count after a chain operator or inside backticks.
const STRONG_WORDS =
  'rm|rmdir|mkfifo|mknod|chmod|chown|chgrp|curl|wget|nc|ncat|netcat|socat|bash|sh|zsh|ksh|csh|dash|powershell|pwsh|cmd|python[23]?|perl|php|sudo|crontab|nohup|base64|xxd|uname|whoami|ifconfig|ipconfig|netstat|nslookup|certutil|bitsadmin|mshta|regsvr32|rundll32|wmic|useradd|usermod|systemctl|killall|pkill|iex';
const WEAK_WORDS =
  'mv|cp|dd|touch|cat|tac|head|tail|ls|dir|del|erase|find|fetch|telnet|ssh|scp|ftp|tftp|fish|ruby|node|lua|su|kill|reboot|shutdown|halt|poweroff|echo|printf|id|hostname|ping|dig|env|export|set|eval|exec|source|service|passwd|net';
const STRONG_COMMANDS = `(?:${STRONG_WORDS})`;
const COMMANDS = `(?:${STRONG_WORDS}|${WEAK_WORDS})`;
const BARE_COMMANDS = '(?:id|whoami|uname|hostname|pwd|ls|ifconfig|ipconfig|reboot|shutdown|halt|env)';
// What follows a command when it is used: a flag, an absolute/home/relative path or a drive letter.
const ARGUMENT = '(?:-{1,2}[a-z]|[/~]|\\.\\.?/|[a-z]:\\\\)';

/** One pattern per idiom, grouped by family; matched against entity-decoded, NFKC-normalised, lower-cased text. */
const PATTERNS: Readonly<Record<CodeFamily, readonly RegExp[]>> = {
  sql: [
    // Statement grammar: a keyword followed by what must come next in SQL, not in English.
    /\b(?:drop|truncate|alter)\s+(?:table|database|schema|view|index|user|procedure|function|trigger)\b/,
    /\bunion\s+(?:all\s+|distinct\s+)?select\b/,
    /\binsert\s+into\s+[\w.[\]"`]+\s*(?:\([^)]*\)\s*)?(?:values|select)\b/,
    /\bdelete\s+from\s+[\w.[\]"`]+\s*(?:where\b|;|--)/,
    /\bupdate\s+[\w.[\]"`]+\s+set\s+[\w.[\]"`]+\s*=\s*\S/,
    /\bselect\s+(?:\*|@@|case\s+when\b|(?:count|sum|max|min|concat|group_concat|substring|version|load_file)\s*\()/,
    /\bselect\s+[\w.]+(?:\s*,\s*[\w.]+)+\s+from\s+[\w.[\]"`]+\s*(?:where\b|;|--|#|limit\b|order\s+by\b|$)/,
    /\bfrom\s+(?:information_schema|sqlite_master|mysql\.user|pg_(?:user|shadow|catalog)|sys\.(?:objects|tables|databases))\b|\bfrom\s+dual\b/,
    // A quote breaking out of a string literal, followed by SQL grammar: `' OR 1=1`, `' AND IF(`, `'; SHUTDOWN`, `'--`.
    /['"`]\s*(?:\)\s*)?(?:\bor\b|\band\b|\|\||&&)\s*(?:\(\s*)?(?:['"]?[\w@.]*['"]?\s*(?:=|<>|!=|<=|>=|<|>|\blike\b)|(?:if|exists|sleep|ascii|substr(?:ing)?|char|ord|length|benchmark|select)\s*\(|(?:true|false)\s*(?:--|#|;|\)|$))/,
    // Clause keywords after a quote count only with the grammar that follows them in SQL: an English sentence may
    // quote "Union legislative acts…" or "having regard to…", a payload says `' UNION SELECT`, `' ORDER BY 3--`.
    /['"`]\s*(?:\)\s*)?(?:union\s+(?:all\s+|distinct\s+)?select\b|order\s+by\s+(?:\d+|[\w.]+\s*(?:--|#|;|\/\*|$))|group\s+by\s+[\w.]+\s*(?:--|#|;|having\b|$)|having\s+(?:\d+|[\w.]+)\s*(?:=|<|>)|procedure\s+analyse\b)/m,
    /['"`]\s*(?:\)\s*)?;\s*(?:--|#|\/\*|(?:select|insert|update|delete|drop|create|alter|truncate|exec(?:ute)?|declare|shutdown|waitfor|grant|revoke|union|merge|call|load|copy)\b)/,
    /['"]\s*(?:\)\s*)?(?:--|\/\*)[\s+-]*$|['"]\s*#\s*$/m, // `admin'--` ends the statement early
    // Tautologies that defeat a WHERE clause, quoted or not: `OR 1=1`, `IF(1=1,`, `WHEN (2=2)`, `or 'a'='a'`.
    /\b(?:or|and|if|when|where)\s*(?:\(\s*)*(['"]?)(\w+)\1\s*=\s*\1\2\1\s*\)*(?:\s|,|;|--|#|\)|$)/,
    /\b(?:sleep|pg_sleep|benchmark|load_file|extractvalue|updatexml|dbms_pipe\.receive_message)\s*\(\s*[\d'"(]/,
    /\bwaitfor\s+delay\s+['"]/,
    /@@(?:version|hostname|datadir|user)\b|\binformation_schema\b|\bxp_cmdshell\b|\bsp_executesql\b|\binto\s+(?:out|dump)file\b/,
    /\bexec(?:ute)?\s*\(\s*['"@]|\bexec(?:ute)?\s+(?:master\.|xp_|sp_)/,
    /;\s*shutdown\s*(?:--|;|#|with\b|$)/m,
  ],
  shell: [
    /\$\(\s*[a-z_./~][^)\s/.'"]{0,100}[\s/.'"][^)]{0,300}\)/, // $(command args)
    new RegExp(`\\$\\(\\s*${BARE_COMMANDS}\\s*\\)`),
    /\$\{(?:ifs|jndi|env|sys|java|lower|upper|::-)/, // ${IFS}, log4shell ${jndi:…}
    new RegExp(`\`\\s*(?:${COMMANDS}\\s+[^\`]+|${BARE_COMMANDS}\\s*)\``), // \`command args\`
    new RegExp(`(?:;|&&?|\\|\\||\\||\`)\\s*${COMMANDS}\\s+${ARGUMENT}`),
    /(?:^|[;&|`]|\$\()\s*\/(?:usr\/)?s?bin\/\w+/m, // an absolute binary at a command position
    /\|\s*(?:id|whoami|uname)\s*$|\bwhoami\b|\buname\s+-[a-z]/m,
    new RegExp(`^\\s*(?:\\$\\s+)?${STRONG_COMMANDS}\\s+${ARGUMENT}`, 'm'),
    new RegExp(`(?:;|&&|\\|\\|)\\s*${BARE_COMMANDS}\\s*(?:$|[;&|#\`)])`, 'm'),
    /\|\s*(?:sudo\s+)?(?:(?:\/usr)?\/bin\/)?(?:ba|z|k|da)?sh\b(?:\s+-[a-z]|\s*(?:$|[;&)>]))|\|\s*(?:python[23]?|perl|ruby|php|node|powershell|pwsh|iex)\s*(?:\s-[a-z]|$|[;&)>])/m, // curl … | sh
    /\brm\s+-[a-z]*[rf][a-z]*\b/,
    /\/bin\/(?:ba|z|k|c|da)?sh\b|\/dev\/(?:tcp|udp)\/|\/etc\/(?:passwd|shadow|sudoers)\b|\b\d>&\s*\d\b|>\s*\/dev\/null\b/,
    /\b(?:nc|ncat|netcat)\s+(?:-[a-z]+\s+)*(?:-e|-c|\d{1,3}(?:\.\d{1,3}){3}|localhost)\b/,
    /\bcmd(?:\.exe)?\s+\/[ck]\b|\bpowershell(?:\.exe)?\s+-(?:e|enc|encodedcommand|c|command|nop|w)\b/,
    /@\{\[\s*\w+/, // Perl interpolation of an expression: @{[ system "…" ]}
    /(?:\.\.[/\\]){2,}/, // path traversal
  ],
  code: [
    /__(?:import|class|subclasses|globals|builtins|mro|bases|getattribute|reduce|code|loader)__/,
    /\b(?:os|posix|nt)\s*\.\s*(?:system|popen\d?|exec\w*|spawn\w*|fork|kill|remove|unlink|rmdir|removedirs)\s*\(/,
    /\bsubprocess\s*\.\s*\w+\s*\(|['"]subprocess['"]|\bimport\s+(?:[\w.]+\s*,\s*)*(?:os|subprocess|socket|sys|shutil|pty|ctypes|requests|httpx|aiohttp|urllib\d?|http\.client|smtplib|aiosmtplib|ftplib|telnetlib|paramiko|psutil|pickle|marshal|importlib|webbrowser|keyring)\b|\bfrom\s+(?:os|subprocess|socket|pty|ctypes|urllib\d?|http|smtplib)(?:\.\w+)?\s+import\b/,
    /\bos\s*\.\s*environ\b|\b(?:pickle|marshal|cpickle)\s*\.\s*loads?\s*\(|\bgetattr\s*\(\s*__builtins__/,
    /\bruntime\s*\.\s*getruntime\s*\(\s*\)\s*\.\s*exec\b|\bnew\s+processbuilder\s*\(|\bprocess\s*\.\s*start\s*\(|\bexec\s*\.\s*command\s*\(/, // Java, .NET, Go
    /\bfs\s*\.\s*(?:unlink|rm|rmdir|writefile|appendfile|readfile|createwritestream)(?:sync)?\s*\(|\b(?:execsync|spawnsync|execfilesync)\s*\(/,
    /\b(?:exec|eval|compile|execfile|system|popen|passthru|shell_exec|proc_open|pcntl_exec|assert|spawn|execsync|settimeout|setinterval|function)\s*\(\s*(?:['"`]|compile\b|base64|atob|\$_|request|input\s*\()/,
    /\bshell\s*=\s*true\b/,
    /\bsocket\s*\.\s*socket\s*\(|\.connect\s*\(\s*\(/,
    /\bopen\s*\(\s*r?['"](?:\/|[a-z]:\\|~)[^'"]*['"]\s*(?:,\s*['"][wa+]|\))/,
    /\b(?:kernel|process|io|open3)\s*\.\s*(?:exec|spawn|popen\d?|system|capture\d?)\b/,
    /%x[({[]|\bsystem\s*\(\s*['"`]|\bsystem\s+["'`][^"'`]*(?:\/|\brm\b|\bls\b|\btouch\b|\bcat\b|\bcurl\b|\bwget\b)/,
    /\brequire\s*\(\s*['"](?:child_process|fs|net|vm|os|http)['"]\s*\)|\bchild_process\b|\bprocess\s*\.\s*(?:binding|mainmodule|dlopen)\b|\bnew\s+function\s*\(\s*['"`]|\.constructor\s*\(\s*['"`]/,
    /<\?(?:php|=)/,
    /\b(?:requests?|httpx|urllib\d?(?:\.request)?|aiohttp|session)\s*\.\s*(?:get|post|put|delete|request|urlopen|urlretrieve)\s*\(\s*['"]/,
    /\(\s*lambda\s+(?:_\w*|[a-z])\s*(?:,\s*\w+\s*)*:/, // obfuscated one-liners: (lambda __g, __y: …)
    /\{\{[^}]{0,200}?(?:__\w+__|\bconfig\b|\bself\b|\bcycler\b|\blipsum\b|\d+\s*\*\s*\d+)|\{%\s*(?:import|include|exec)\b/, // template injection
    /[$#]\{\s*\d+\s*\*\s*\d+\s*\}|<%[=-]?[\s\S]{0,300}?%>/,
  ],
};

export const CodeInjectionConfig = z.strictObject({
  fields: FieldSelection,
  families: z
    .array(z.enum(CODE_FAMILIES))
    .min(1)
    .default([...CODE_FAMILIES])
    .describe('Which families to look for: sql statements, shell command chains, interpreter exec idioms'),
});
export type CodeInjectionConfig = z.infer<typeof CodeInjectionConfig>;

/**
 * The views a downstream consumer could end up executing: entities decoded (HTML fields store `&#39;`), normalised
 * (LLM01-4), and with tags replaced by spaces so markup cannot split a statement across elements.
 */
function views(text: string): string[] {
  const decoded = normaliseText(decodeEntities(text)).toLowerCase();
  const untagged = decoded.replace(/<\/?[a-z][^<>]{0,2000}>/g, ' ');
  // URL-encoded payloads (`%27%20OR%201%3D1`) reach a query string or a shell as their decoded form.
  const unescaped = untagged.replace(/%([0-9a-f]{2})/g, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  return [...new Set([decoded, untagged, unescaped])];
}

/** The families whose idioms appear in `text` (exported for evaluation scripts). */
export function codeFamiliesIn(text: string, families: readonly CodeFamily[] = CODE_FAMILIES): CodeFamily[] {
  const candidates = views(text);
  return families.filter((family) => PATTERNS[family].some((pattern) => candidates.some((view) => pattern.test(view))));
}

export const codeInjectionCheck: CheckDefinition<CodeInjectionConfig> = {
  name: 'code_injection',
  description: 'SQL statements, shell command chains and interpreter exec idioms in output text (LLM05)',
  stages: ['output'],
  canRepair: false,
  configSchema: CodeInjectionConfig,
  run: (_context, value, config) => {
    const reasons = stringLeaves(value, config.fields).flatMap(({ path, text }) => {
      const found = codeFamiliesIn(text, config.families);
      return found.length === 0 ? [] : [`${path}: ${found.join(', ')} injection shape`];
    });
    return { tripped: reasons.length > 0, reasons };
  },
};
