#!/usr/bin/python3
"""Seeing a running system, through the real `sluice` binary: --metrics-listen scraped with a real
HTTP client (urllib) and the exposition parsed, `sluice status` (text and --json) for topics,
groups and jobs, and the progress line of long commands on a terminal (a pty) versus piped.

Run by ctest:  observability_test.py --sluice PATH --case NAME
Cases: metrics_run, metrics_serve, metrics_bad_address, status, progress, report (needs
/usr/bin/chromium).
Waits poll with a generous deadline as a guard against hangs; nothing asserts on timing.
"""
import argparse, json, os, pty, re, shutil, signal, socket, struct, subprocess, sys, tempfile
import time, urllib.error, urllib.request

ARGS = None


def fail(msg):
    print('FAIL: ' + msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print('ok: ' + msg)


def sluice(data, *args, stdin=None, input_text=None, env=None, expect=0):
    e = dict(os.environ, SLUICE_LOCK_WAIT_MS='3000')
    e.update(env or {})
    r = subprocess.run([ARGS.sluice, '--data', data] + list(args), input=input_text, stdin=stdin,
                       capture_output=True, text=True, env=e, timeout=120)
    if expect is not None and r.returncode != expect:
        fail('sluice %s exited %d (want %d):\n%s%s' % (' '.join(args), r.returncode, expect,
                                                      r.stdout, r.stderr))
    return r


def parse_exposition(text):
    """Parses Prometheus text format 0.0.4 strictly enough to catch mistakes: every sample's
    family has # HELP and # TYPE lines before it, counters end in _total, histogram buckets are
    cumulative. Returns {(name, frozenset(labels.items())): value} and {family: type}."""
    samples, types, helps = {}, {}, set()
    sample_re = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
    label_re = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')
    for line in text.splitlines():
        if line.startswith('# HELP '):
            helps.add(line.split(' ')[2])
            continue
        if line.startswith('# TYPE '):
            _, _, name, kind = line.split(' ')
            if name in types:
                fail('family %s has two # TYPE lines' % name)
            types[name] = kind
            continue
        m = sample_re.match(line)
        if not m:
            fail('not an exposition line: %r' % line)
        name, labels = m.group(1), dict(label_re.findall(m.group(3) or ''))
        family = re.sub(r'_(bucket|sum|count)$', '', name) if re.sub(
            r'_(bucket|sum|count)$', '', name) in types else name
        if family not in types or family not in helps:
            fail('sample %s before its # HELP/# TYPE' % name)
        if types[family] == 'counter' and not name.endswith('_total'):
            fail('counter %s does not end in _total' % name)
        samples[(name, frozenset(labels.items()))] = float(m.group(4))
    for (name, labels), v in samples.items():
        if name.endswith('_bucket'):
            le = dict(labels)['le']
            if le == '+Inf':
                count = samples[(name[:-7] + '_count', frozenset(
                    (k, x) for k, x in labels if k != 'le'))]
                if count != v:
                    fail('%s: +Inf bucket %s != count %s' % (name, v, count))
    return samples, types


def total(samples, name, **want):
    """Sum of `name` over the samples whose labels include `want`."""
    return sum(v for (n, labels), v in samples.items()
               if n == name and all(dict(labels).get(k) == x for k, x in want.items()))


def scrape(address):
    with urllib.request.urlopen('http://%s/metrics' % address, timeout=10) as r:
        ctype = r.headers.get('Content-Type')
        if ctype != 'text/plain; version=0.0.4; charset=utf-8':
            fail('Content-Type %r' % ctype)
        return parse_exposition(r.read().decode())


def wait_for(what, fn, timeout=90):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    fail('gave up waiting for ' + what)


class Child:
    """A long-running sluice process whose stderr goes to a file we read."""

    def __init__(self, data, *args, tmp):
        self.err_path = os.path.join(tmp, 'child-%d.err' % time.monotonic_ns())
        self.err = open(self.err_path, 'w')
        self.proc = subprocess.Popen([ARGS.sluice, '--data', data] + list(args),
                                     stdout=subprocess.DEVNULL, stderr=self.err,
                                     stdin=subprocess.DEVNULL)

    def stderr(self):
        with open(self.err_path) as f:
            return f.read()

    def wait_stderr(self, pattern):
        def found():
            if self.proc.poll() is not None:
                fail('child exited %s:\n%s' % (self.proc.returncode, self.stderr()))
            return re.search(pattern, self.stderr())
        return wait_for('stderr to show %r' % pattern, found)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            fail('child did not stop on SIGINT:\n' + self.stderr())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def status_json(data):
    r = sluice(data, 'status', '--json')
    try:
        return json.loads(r.stdout)
    except ValueError as e:
        fail('status --json is not JSON (%s): %r' % (e, r.stdout))


def case_metrics_run(tmp):
    data, state = os.path.join(tmp, 'data'), os.path.join(tmp, 'state')
    sluice(data, 'topic', 'create', 'words', '--partitions', '2')
    sluice(data, 'produce', 'words', input_text=''.join('a b c\n' for _ in range(40)))
    job = Child(data, 'run', 'wordcount', '--input', 'words', '--output', 'counts', '--app', 'wc',
                '--state', state, '--metrics-listen', '127.0.0.1:0', tmp=tmp)
    try:
        address = job.wait_stderr(r'metrics at http://([0-9.:]+)/metrics').group(1)
        # Through the job's own server (the directory's owner while it runs).
        sluice(data, 'produce', 'words', input_text=''.join('d e\n' for _ in range(20)))

        def caught_up():
            s, t = scrape(address)
            return (s, t) if total(s, 'sluice_job_records_in_total', app='wc',
                                   topic='words') == 60 else None
        s, types = wait_for('the job to read all 60 lines', caught_up)
        check(types['sluice_job_records_in_total'] == 'counter', 'records_in is a counter')
        check(types['sluice_job_lag_records'] == 'gauge', 'lag is a gauge')
        check(types['sluice_job_commit_seconds'] == 'histogram', 'commit latency is a histogram')
        check(total(s, 'sluice_log_end_offset', topic='words') == 60,
              'log end offsets of words sum to the 60 records produced')
        check(total(s, 'sluice_job_lag_records', app='wc', topic='words') == 0,
              'lag per input partition is 0 once read')
        check(len([1 for (n, l) in s if n == 'sluice_job_lag_records' and
                   dict(l).get('topic') == 'words']) == 2, 'lag has one series per partition')

        def published():
            s, _ = scrape(address)
            out = total(s, 'sluice_job_records_out_total', app='wc', topic='counts')
            end = total(s, 'sluice_log_end_offset', topic='counts')
            return s if out > 0 and out == end else None
        s = wait_for('records out to match the output topic', published)
        check(total(s, 'sluice_job_records_out_total', app='wc', topic='counts') ==
              total(s, 'sluice_log_end_offset', topic='counts'),
              'records out to counts equal its log end offsets (%d)' %
              total(s, 'sluice_log_end_offset', topic='counts'))
        check(total(s, 'sluice_server_requests_total', api='Produce') >= 1,
              'the produce through the job\'s server is counted')
        check(total(s, 'sluice_job_commit_seconds_count', app='wc') >= 1, 'commits are timed')
        check(total(s, 'sluice_log_fsync_seconds_count') >= 1, 'log fsyncs are timed')
        check(total(s, 'sluice_job_restored_records', app='wc') == 0, 'restored_records is 0')
        check(('sluice_job_state_bytes', frozenset({('app', 'wc')})) in s, 'state size is there')

        # records in counts every stage: the 60 lines, then their 160 words after the
        # repartition.
        s, _ = scrape(address)
        check(total(s, 'sluice_job_records_in_total', app='wc') == 220,
              'records in over both stages: 60 lines + 160 words')

        def job_status():
            st = status_json(data)
            jobs = [j for j in st['jobs'] if j['app'] == 'wc']
            return st if jobs and jobs[0]['records_in'] == 220 else None
        st = wait_for('the status file to show 220 records in', job_status)
        j = [j for j in st['jobs'] if j['app'] == 'wc'][0]
        check(j['state'] == 'running' and j['pid'] == job.proc.pid and j['job'] == 'wordcount',
              'status shows the job running with its pid')
        check(j['metrics'] == address, 'status names the metrics address')
    finally:
        code = job.stop()
    check(code == 0, 'the job stopped cleanly on SIGINT')
    j = [j for j in status_json(data)['jobs'] if j['app'] == 'wc'][0]
    check(j['state'] == 'stopped' and j['records_in'] == 220, 'status shows it stopped, 220 in')


def case_metrics_serve(tmp):
    data = os.path.join(tmp, 'data')
    os.makedirs(data)
    server = Child(data, 'serve', '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0',
                   tmp=tmp)
    try:
        address = server.wait_stderr(r'metrics at http://([0-9.:]+)/metrics').group(1)
        broker = server.wait_stderr(r'Kafka protocol on (127\.0\.0\.1:[0-9]+)').group(1)
        sluice(data, '-b', broker, 'topic', 'create', 't', '--partitions', '3')
        sluice(data, '-b', broker, 'produce', 't',
               input_text=''.join('record %d\n' % i for i in range(25)))
        r = sluice(data, '-b', broker, 'consume', 't', '--from-beginning')
        check(len(r.stdout.splitlines()) == 25, 'consumed the 25 records through the server')
        s, types = scrape(address)
        check(total(s, 'sluice_log_end_offset', topic='t') == 25,
              'log end offsets of t sum to 25')
        check(total(s, 'sluice_log_partitions', topic='t') == 3, 't has 3 partitions')
        check(total(s, 'sluice_server_requests_total', api='Produce') >= 1, 'Produce counted')
        check(total(s, 'sluice_server_requests_total', api='Fetch') >= 1, 'Fetch counted')
        check(total(s, 'sluice_server_requests_total', api='CreateTopics') == 1,
              'one CreateTopics')
        check(total(s, 'sluice_server_request_errors_total', api='Produce') == 0,
              'no Produce errors')
        check(total(s, 'sluice_server_produce_seconds_count') ==
              total(s, 'sluice_server_requests_total', api='Produce'),
              'every Produce is timed')
        check(total(s, 'sluice_server_request_bytes_total') > 25 * len('record 0'),
              'request bytes cover the records sent')
        check(total(s, 'sluice_server_response_bytes_total') > 25 * len('record 0'),
              'response bytes cover the records fetched')
        check(total(s, 'sluice_server_connections_accepted_total') >= 3,
              'each client connection is counted')
        check(types.get('sluice_server_connections') == 'gauge', 'open connections is a gauge')
        # A request the server refuses is an error: Metadata v999, which it does not serve (it
        # closes the connection, as Kafka does).
        host, port = broker.split(':')
        with socket.create_connection((host, int(port)), timeout=10) as c:
            body = struct.pack('>hhih', 3, 999, 1, 4) + b'test'
            c.sendall(struct.pack('>i', len(body)) + body)
            check(c.recv(100) == b'', 'the server closes a connection sending Metadata v999')
        s, _ = scrape(address)
        check(total(s, 'sluice_server_request_errors_total', api='Metadata') == 1,
              'the refused request is counted as a Metadata error')
        try:
            urllib.request.urlopen('http://%s/nothing' % address, timeout=10)
            fail('/nothing answered')
        except urllib.error.HTTPError as e:
            check(e.code == 404, 'other paths are 404')
    finally:
        code = server.stop()
    check(code == 0, 'serve stopped cleanly')


def case_metrics_bad_address(tmp):
    data, state = os.path.join(tmp, 'data'), os.path.join(tmp, 'state')
    sluice(data, 'topic', 'create', 'words', '--partitions', '1')
    r = sluice(data, 'run', 'wordcount', '--input', 'words', '--output', 'counts', '--state',
               state, '--metrics-listen', 'nonsense', '--until-end', expect=None)
    check(r.returncode != 0 and '--metrics-listen' in r.stderr and 'HOST:PORT' in r.stderr,
          'a malformed address is refused with what to give: %s' % r.stderr.strip())
    check(not os.path.exists(state) and not os.path.exists(os.path.join(data, 'OWNER')),
          'nothing was started (no state directory, no OWNER)')
    r = sluice(data, 'topic', 'list')
    check('counts' not in r.stdout, 'the output topic was not created')
    taken = socket.socket()
    taken.bind(('127.0.0.1', 0))
    taken.listen(1)
    port = taken.getsockname()[1]
    for cmd in (['run', 'wordcount', '--input', 'words', '--output', 'counts', '--state', state],
                ['serve', '--listen', '127.0.0.1:0']):
        r = sluice(data, *cmd, '--metrics-listen', '127.0.0.1:%d' % port, expect=None)
        check(r.returncode == 1 and ('cannot serve metrics on 127.0.0.1:%d' % port) in r.stderr,
              '%s: a taken port is an error naming it' % cmd[0])
        check(not os.path.exists(os.path.join(data, 'OWNER')), '%s started nothing' % cmd[0])
    check(not os.path.exists(state), 'no state directory')
    taken.close()


def case_status(tmp):
    data, state = os.path.join(tmp, 'data'), os.path.join(tmp, 'state')
    sluice(data, 'topic', 'create', 'orders', '--partitions', '2')
    sluice(data, 'topic', 'create', 'customers', '--partitions', '1', '--config',
           'cleanup.policy=compact')
    sluice(data, 'produce', 'orders', '--partition', '0',
           input_text=''.join('order %d\n' % i for i in range(20)))
    sluice(data, 'produce', 'orders', '--partition', '1',
           input_text=''.join('order %d\n' % i for i in range(20, 30)))
    sluice(data, 'produce', 'customers', input_text='c1\nc2\nc3\n')
    # A group that read 10 of orders' 30 records, all from one partition.
    sluice(data, 'consume', 'orders', '--group', 'billing', '--partition', '0', '--max', '10')
    st = status_json(data)
    topics = {t['name']: t for t in st['topics']}
    check(set(topics) == {'orders', 'customers'}, 'status lists both topics')
    check(topics['orders']['partitions'] == 2 and topics['orders']['records'] == 30,
          'orders: 2 partitions, 30 records')
    check(topics['customers']['cleanup_policy'] == 'compact' and
          topics['orders']['cleanup_policy'] == 'delete', 'cleanup policies')
    check(topics['orders']['bytes'] > 0 and topics['orders']['retention_ms'] is not None,
          'bytes and retention are known embedded')
    groups = {g['group']: g for g in st['groups']}
    r = sluice(data, 'consume', 'orders', '--partition', '0', '--from-beginning')
    p0 = len(r.stdout.splitlines())
    check(groups['billing']['lag'] == p0 - 10,
          'billing lags by partition 0\'s %d records minus the 10 it read' % p0)
    check(groups['billing']['worst'] == {'topic': 'orders', 'partition': 0, 'lag': p0 - 10},
          'the worst partition is orders[0]')
    check(st['jobs'] == [], 'no jobs yet')
    text = sluice(data, 'status').stdout
    check(re.search(r'orders\s+2\s+30\s', text) is not None and 'billing' in text and
          'orders[0] lag %d' % (p0 - 10) in text, 'the text screen shows the same')
    # A job killed with -9 leaves a status file that says running: shown as stopped.
    job = Child(data, 'run', 'wordcount', '--input', 'customers', '--output', 'out', '--app',
                'victim', '--state', state, tmp=tmp)
    wait_for('the job to write its status', lambda: [
        j for j in status_json(data)['jobs'] if j['app'] == 'victim' and j['state'] == 'running'
        and j['records_in'] >= 3])
    job.kill()
    with open(os.path.join(data, 'jobs', 'victim.status')) as f:
        check('state=running' in f.read(), 'the killed job\'s file still says running')
    j = [j for j in status_json(data)['jobs'] if j['app'] == 'victim'][0]
    check(j['state'] == 'stopped' and j['rate_in'] == 0, 'status shows the dead job as stopped')
    check('victim' in sluice(data, 'status').stdout, 'and the text screen lists it')
    # Through the served directory (its owner) the same jobs are found.
    server = Child(data, 'serve', '--listen', '127.0.0.1:0', tmp=tmp)
    try:
        server.wait_stderr(r'Kafka protocol on 127\.0\.0\.1:[0-9]+')
        st2 = status_json(data)
        check(st2['log'].startswith('the broker at'), 'status goes through the serving owner')
        check({t['name'] for t in st2['topics']} >= {'orders', 'customers'} and
              [g['lag'] for g in st2['groups'] if g['group'] == 'billing'] == [p0 - 10] and
              [j['app'] for j in st2['jobs']] == ['victim'],
              'and shows the same topics, group lag and jobs')
    finally:
        server.stop()


def run_on_pty(argv, stdin=None, stdout=subprocess.DEVNULL, env=None):
    """Runs argv with stderr on a pseudo-terminal; returns (exit code, what it wrote there)."""
    master, slave = pty.openpty()
    e = dict(os.environ)
    e.pop('SLUICE_PROGRESS', None)
    e.update(env or {})
    p = subprocess.Popen(argv, stdin=stdin or subprocess.DEVNULL, stdout=stdout, stderr=slave,
                         env=e)
    os.close(slave)
    out = b''
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    return p.wait(timeout=120), out.decode(errors='replace').replace('\r\n', '\n')


def case_progress(tmp):
    data = os.path.join(tmp, 'data')
    gen = [ARGS.sluice, '--data', data, 'gen', 'clickstream', '--topic', 'clicks', '--events',
           '30000', '--partitions', '2']
    code, tty = run_on_pty(gen)
    check(code == 0, 'gen on a terminal succeeds')
    check(re.search(r'\r\x1b\[Kgen clickstream: [0-9.k]+ events \([0-9.kM]+/s\) \d+%', tty)
          is not None, 'gen draws a progress line with a percentage on a terminal')
    check('created topic' in tty, 'its own messages are still there')
    # The line is erased before the command's own output: nothing of it is left on the screen.
    check(not re.search(r'\x1b\[Kgen clickstream[^\r]*$', tty), 'the line is cleared at the end')

    piped = subprocess.run([ARGS.sluice, '--data', data, 'gen', 'clickstream', '--topic',
                            'clicks2', '--events', '30000', '--partitions', '2'],
                           capture_output=True, text=True)
    check(piped.returncode == 0 and piped.stderr ==
          "created topic 'clicks2' with 2 partitions\n",
          'piped, gen\'s stderr is exactly what it was: %r' % piped.stderr)
    check('\x1b' not in piped.stdout and '\r' not in piped.stdout, 'and stdout has no escapes')

    # produce from a file: records and the share of the file read.
    path = os.path.join(tmp, 'lines.txt')
    with open(path, 'w') as f:
        f.writelines('line %d\n' % i for i in range(20000))
    sluice(data, 'topic', 'create', 'lines', '--partitions', '1')
    with open(path) as f:
        code, tty = run_on_pty([ARGS.sluice, '--data', data, 'produce', 'lines'], stdin=f)
    check(code == 0 and re.search(r'\r\x1b\[Kproduce lines: [0-9.k]+ records .*\d+%', tty),
          'produce from a file shows progress with a percentage')
    check(tty.endswith("\r\x1b[Kwrote 20000 records to topic 'lines'\n"),
          'cleared before its summary line: %r' % tty[-80:])
    with open(path) as f:
        r = subprocess.run([ARGS.sluice, '--data', data, 'produce', 'lines'], stdin=f,
                           capture_output=True, text=True)
    check(r.stderr == "wrote 20000 records to topic 'lines'\n", 'piped, exactly the summary')

    # consume of a bounded range into a file.
    out_path = os.path.join(tmp, 'out.txt')
    with open(out_path, 'w') as out:
        code, tty = run_on_pty([ARGS.sluice, '--data', data, 'consume', 'lines',
                                '--from-beginning'], stdout=out)
    with open(out_path) as f:
        n = len(f.read().splitlines())
    check(code == 0 and n == 40000 and re.search(r'\r\x1b\[Kconsume lines: .*\d+%', tty),
          'consume of a range shows progress; all %d records written' % n)
    r = subprocess.run([ARGS.sluice, '--data', data, 'consume', 'lines', '--from-beginning'],
                       capture_output=True, text=True)
    check(r.stderr == '' and len(r.stdout.splitlines()) == 40000, 'piped consume: no stderr')

    # run --until-end: the progress line replaces the per-second lines on a terminal.
    state = os.path.join(tmp, 'state')
    code, tty = run_on_pty([ARGS.sluice, '--data', data, 'run', 'wordcount', '--input', 'lines',
                            '--output', 'wc', '--until-end', '--state', state])
    check(code == 0 and re.search(r'\r\x1b\[Kwordcount: [0-9.k]+ records', tty),
          'run --until-end shows a progress line')
    # records in counts both stages: 40000 lines and their 80000 words.
    check(re.search(r'\r\x1b\[Kwordcount: in 120000, out \d+, lag 0\n', tty) and
          not re.search(r'\nwordcount: in \d+', tty),
          'the line is cleared for the final summary, the only summary line printed')
    r = subprocess.run([ARGS.sluice, '--data', data, 'run', 'wordcount', '--input', 'lines',
                        '--output', 'wc', '--until-end', '--state', state, '--app', 'wc2'],
                       capture_output=True, text=True)
    check('\x1b' not in r.stderr and '\r' not in r.stderr and
          re.search(r'\nwc2: in 120000, out \d+, lag 0\n', r.stderr) is not None,
          'piped run: the plain lines only')
    code, tty = run_on_pty(gen, env={'SLUICE_PROGRESS': '0'})
    check('\x1b' not in tty, 'SLUICE_PROGRESS=0 turns the line off on a terminal')


CHROMIUM = '/usr/bin/chromium'
SERIES = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4']  # tools/html_report.h
BAR = '#008080'
SESSION_BOUNDS_MIN = [1, 2, 5, 10, 20, 30, 60]


def read_png(path):
    """Decodes an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) with zlib."""
    import struct, zlib
    with open(path, 'rb') as f:
        data = f.read()
    if data[:8] != b'\x89PNG\r\n\x1a\n':
        fail('%s is not a PNG' % path)
    pos, idat, width = 8, b'', 0
    while pos < len(data):
        n, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b'IHDR':
            width, height, depth, ctype, _, _, interlace = struct.unpack('>IIBBBBB', body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                fail('unexpected PNG format depth %d type %d interlace %d' % (depth, ctype,
                                                                          interlace))
            bpp = 3 if ctype == 2 else 4
        elif kind == b'IDAT':
            idat += body
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 255
            elif ftype == 2:
                line[i] = (line[i] + b) & 255
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, bpp, rows


def count_colour(png, colour, y0, y1, tolerance=10):
    width, height, bpp, rows = png
    want = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    n = 0
    for y in range(max(0, y0), min(height, y1)):
        row = rows[y]
        for x in range(width):
            px = row[x * bpp:x * bpp + 3]
            if all(abs(px[i] - want[i]) <= tolerance for i in range(3)):
                n += 1
    return n


def case_report(tmp):
    if not os.path.exists(CHROMIUM):
        fail('%s is missing: install Debian\'s chromium (scripts/install-deps.sh)' % CHROMIUM)
    data, state = os.path.join(tmp, 'data'), os.path.join(tmp, 'state')
    # 12 minutes of clicks on 8 pages: about 12 one-minute windows per page.
    sluice(data, 'gen', 'clickstream', '--topic', 'clicks', '--events', '3600', '--users', '40',
           '--pages', '8', '--interval-ms', '200', '--start', '1700000000000', '--partitions', '2')
    sluice(data, 'run', 'pageviews', '--until-end', '--state', state, '--quiet')
    sluice(data, 'run', 'sessions', '--until-end', '--state', state, '--quiet')
    out = os.path.join(tmp, 'report.html')
    r = sluice(data, 'report', '--out', out)
    check(r.stdout == 'report: %s\n' % out, 'report prints its path')

    # What the charts must show, from the topics themselves.
    views = {}
    for line in sluice(data, 'consume', 'pageviews-counts', '--from-beginning').stdout.split():
        rec = json.loads(line)
        views.setdefault(rec['page'], {})[rec['window_start']] = rec['views']
    top = sorted(views, key=lambda p: (-sum(views[p].values()), p))[:5]
    sessions = [json.loads(l)['duration_ms'] for l in
                sluice(data, 'consume', 'sessions', '--from-beginning').stdout.splitlines()]
    buckets = [0] * (len(SESSION_BOUNDS_MIN) + 1)
    for ms in sessions:
        buckets[sum(1 for b in SESSION_BOUNDS_MIN if ms >= b * 60000)] += 1
    check(len(top) == 5 and all(len(views[p]) >= 10 for p in top) and len(sessions) > 0,
          'the jobs wrote windows for the top pages and %d sessions' % len(sessions))

    base = [CHROMIUM, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
            '--user-data-dir=' + os.path.join(tmp, 'chromium-profile')]
    dom = subprocess.run(base + ['--dump-dom', 'file://' + out], capture_output=True, text=True,
                         timeout=120)
    check(dom.returncode == 0, 'headless Chromium loads the report')
    lines = re.findall(r'<polyline[^>]*data-page="([^"]+)"[^>]*stroke="(#[0-9a-f]{6})"[^>]*'
                       r'points="([^"]*)"', dom.stdout)
    check([p for p, _, _ in lines] == top, 'one line per top page, most viewed first: %s' % top)
    for i, (page, colour, points) in enumerate(lines):
        check(colour == SERIES[i] and len(points.split()) == len(views[page]),
              '%s: %d points, one per window' % (page, len(views[page])))
    bars = [int(c) for c in re.findall(r'<rect[^>]*class="bar"[^>]*data-count="(\d+)"',
                                       dom.stdout)]
    check(bars == [b for b in buckets if b > 0] and sum(bars) == len(sessions),
          'one bar per non-empty session bucket, counting every session: %s' % bars)

    shot = os.path.join(tmp, 'report.png')
    subprocess.run(base + ['--screenshot=' + shot, '--window-size=1040,900', 'file://' + out],
                   capture_output=True, timeout=120)
    check(os.path.exists(shot), 'Chromium took a screenshot')
    png = read_png(shot)
    # Layout (html_report.cc): the views chart is drawn at y 72..432, the sessions chart at
    # 494..854.
    for i, page in enumerate(top):
        n = count_colour(png, SERIES[i], 72, 432)
        check(n >= 100, 'the line of %s (%s) is drawn in the views chart: %d pixels' % (
            page, SERIES[i], n))
    n = count_colour(png, BAR, 494, 854)
    check(n >= 2000, 'the session bars are drawn in the sessions chart: %d pixels' % n)
    check(count_colour(png, BAR, 0, 494) == 0, 'and only there')
    if ARGS.keep_screenshot:
        shutil.copy(shot, ARGS.keep_screenshot)
        print('screenshot kept at ' + ARGS.keep_screenshot)


CASES = {
    'metrics_run': case_metrics_run,
    'metrics_serve': case_metrics_serve,
    'metrics_bad_address': case_metrics_bad_address,
    'status': case_status,
    'progress': case_progress,
    'report': case_report,
}


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument('--sluice', required=True)
    p.add_argument('--case', action='append', choices=sorted(CASES))
    p.add_argument('--keep-screenshot', help='report: copy the screenshot here')
    ARGS = p.parse_args()
    for name in ARGS.case or sorted(CASES):
        tmp = tempfile.mkdtemp(prefix='sluice-obs-')
        try:
            print('== ' + name)
            CASES[name](tmp)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    print('PASS')


if __name__ == '__main__':
    main()
