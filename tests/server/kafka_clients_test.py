#!/usr/bin/python3
"""Real Kafka clients against the real `sluice serve` binary on a free loopback port.

Run by ctest with Debian's /usr/bin/python3 (python3-kafka) and /usr/bin/kcat:
  kafka_clients_test.py --sluice PATH [--case NAME ...]
Cases: kcat, python, group, restart, run, kill9, compression, compaction, kafkajs (default: kcat python group restart).
kafkajs is npm-installed (kafkajs@2.2.4) into --npm-dir on first use.
Every case prints what it checked; the script exits 1 on the first failure.
"""
import argparse, os, re, shutil, signal, socket, subprocess, sys, tempfile, threading, time

KCAT = '/usr/bin/kcat'
ARGS = None


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """One `sluice serve` process; restartable on the same data dir and port."""

    def __init__(self, data_dir, extra_args=()):
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.port = free_port()
        self.broker = '127.0.0.1:%d' % self.port
        self.proc = None
        self.log_path = os.path.join(os.path.dirname(data_dir), 'serve-%d.log' % self.port)

    def start(self):
        # free_port() gives the port back before serve binds it; another test's client may take
        # it as a source port meanwhile. A first start then moves to another port (restarts keep
        # theirs: clients reconnect to it).
        for attempt in range(3):
            if self.try_start():
                self.started = True
                return
            if getattr(self, 'started', False) or 'Address already in use' not in self.logtext():
                break
            self.port = free_port()
            self.broker = '127.0.0.1:%d' % self.port
        fail('sluice serve exited with %s; log:\n%s' % (self.proc.returncode, self.logtext()))

    # Starts serve; False if it exited (its log says why), True once it says it is serving. (A
    # connection test could reach another test's server that took the port.)
    def try_start(self):
        serving = 'over the Kafka protocol on 127.0.0.1:%d ' % self.port
        before = self.logtext().count(serving) if os.path.exists(self.log_path) else 0
        self.log = open(self.log_path, 'a')
        self.proc = subprocess.Popen([ARGS.sluice, 'serve', '--data', self.data_dir, '--listen',
                                      self.broker] + self.extra_args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                return False
            if self.logtext().count(serving) > before:
                return True
            time.sleep(0.05)
        fail('sluice serve did not start listening')

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=30)
        self.log.close()
        return rc

    def logtext(self):
        with open(self.log_path) as f:
            return f.read()


def fail(msg):
    print('FAIL:', msg, flush=True)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print('ok:', msg, flush=True)


def kcat(server, *args, stdin=None, timeout=30):
    r = subprocess.run([KCAT, '-b', server.broker] + list(args), input=stdin, capture_output=True,
                       text=True, timeout=timeout)
    return r


def case_kcat(server):
    r = kcat(server, '-L')
    check(r.returncode == 0 and 'broker 1 at %s (controller)' % server.broker in r.stdout,
          'kcat -L lists our broker as controller')
    # Produce N keyed records to a 3-partition topic created over the wire.
    from kafka.admin import KafkaAdminClient, NewTopic
    adm = KafkaAdminClient(bootstrap_servers=server.broker)
    adm.create_topics([NewTopic('keyed', 3, 1)])
    adm.close()
    n = 60
    lines = ''.join('key-%d:value-%d\n' % (i % 7, i) for i in range(n))
    r = kcat(server, '-P', '-t', 'keyed', '-K:', '-X', 'acks=all', stdin=lines)
    check(r.returncode == 0 and 'failed' not in r.stderr.lower(), 'kcat -P -K produced %d keyed records' % n)
    r = kcat(server, '-C', '-t', 'keyed', '-o', 'beginning', '-e', '-f', '%k|%s|%p|%o\n')
    got = [l.split('|') for l in r.stdout.splitlines()]
    check(len(got) == n, 'consumed exactly %d records back (got %d)' % (n, len(got)))
    check(sorted(v for _, v, _, _ in got) == sorted('value-%d' % i for i in range(n)),
          'every value consumed exactly once')
    by_key = {}
    for k, v, p, o in got:
        by_key.setdefault(k, set()).add(p)
        check_pair = ('key-%d' % (int(v.split('-')[1]) % 7)) == k
        if not check_pair:
            fail('record %s came back with key %s' % (v, k))
    check(all(len(ps) == 1 for ps in by_key.values()), 'each key stayed on one partition')
    # Chosen partition and acks 0/1/all.
    for acks, value in (('0', 'x0'), ('1', 'x1'), ('all', 'xall')):
        r = kcat(server, '-P', '-t', 'acks', '-p', '0', '-X', 'acks=' + acks, stdin=value + '\n')
        check(r.returncode == 0 and not r.stderr.strip(), 'kcat -P acks=%s' % acks)
    r = kcat(server, '-C', '-t', 'acks', '-p', '0', '-o', 'beginning', '-e', '-f', '%o %s\n')
    check(r.stdout.split('\n')[:3] == ['0 x0', '1 x1', '2 xall'], 'acks 0/1/all records at offsets 0..2')
    r = kcat(server, '-C', '-t', 'acks', '-p', '0', '-o', '1', '-c', '1', '-f', '%o %s\n')
    check(r.stdout == '1 x1\n', 'consume from an offset')
    # Offsets for times.
    kcat(server, '-P', '-t', 'ts', '-p', '0', stdin='early\n')
    time.sleep(0.3)
    t = int(time.time() * 1000)
    time.sleep(0.2)
    kcat(server, '-P', '-t', 'ts', '-p', '0', stdin='late1\nlate2\n')
    r = kcat(server, '-Q', '-t', 'ts:0:%d' % t)
    check('ts [0] offset 1' in r.stdout, 'kcat -Q finds the first record at or after a time')
    r = kcat(server, '-Q', '-t', 'ts:0:4102444800000')
    check('ts [0] offset -1' in r.stdout, 'kcat -Q past the last record answers -1')
    r = kcat(server, '-C', '-t', 'ts', '-p', '0', '-o', 's@%d' % t, '-e', '-f', '%o %s\n')
    check(r.stdout == '1 late1\n2 late2\n', 'kcat -o s@time consumes from that time')
    # Compressed batches are stored and served verbatim.
    for z in ('gzip', 'snappy', 'lz4', 'zstd'):
        kcat(server, '-P', '-t', 'cz', '-p', '0', '-z', z, '-k', 'k-' + z, stdin='msg-%s\n' % z)
    r = kcat(server, '-C', '-t', 'cz', '-p', '0', '-o', 'beginning', '-e', '-f', '%k=%s\n')
    check(r.stdout == 'k-gzip=msg-gzip\nk-snappy=msg-snappy\nk-lz4=msg-lz4\nk-zstd=msg-zstd\n',
          'gzip/snappy/lz4/zstd batches round-trip')
    # Idempotent producer (InitProducerId + sequences).
    r = kcat(server, '-P', '-t', 'idem', '-p', '0', '-X', 'enable.idempotence=true', stdin='i1\ni2\n')
    check(r.returncode == 0 and not r.stderr.strip(), 'idempotent producer accepted')
    r = kcat(server, '-C', '-t', 'idem', '-p', '0', '-o', 'beginning', '-e', '-f', '%o %s\n')
    check(r.stdout == '0 i1\n1 i2\n', 'idempotent records stored once')
    # Errors.
    r = kcat(server, '-C', '-t', 'nosuch', '-o', 'beginning', '-e')
    check(r.returncode != 0 and 'Unknown topic or partition' in r.stderr,
          'consumer on a missing topic gets UNKNOWN_TOPIC_OR_PARTITION')
    check(not os.path.exists(os.path.join(server.data_dir, 'topics', 'nosuch')),
          'a consumer does not auto-create topics')
    r = kcat(server, '-C', '-t', 'acks', '-p', '0', '-o', '100', '-e', '-X', 'auto.offset.reset=error')
    check(r.returncode != 0 and 'Offset out of range' in r.stderr, 'fetch past the end: OFFSET_OUT_OF_RANGE')


def case_python(server):
    from kafka import KafkaProducer, KafkaConsumer, KafkaAdminClient, TopicPartition
    from kafka.admin import NewTopic
    from kafka.errors import TopicAlreadyExistsError
    B = server.broker
    adm = KafkaAdminClient(bootstrap_servers=B)
    check(adm.config['api_version'] == (2, 3, 0), 'kafka-python infers broker version 2.3.0')
    adm.create_topics([NewTopic('kp', num_partitions=2, replication_factor=1)])
    try:
        adm.create_topics([NewTopic('kp', num_partitions=2, replication_factor=1)])
        fail('second create_topics did not raise')
    except TopicAlreadyExistsError:
        check(True, 'second create_topics raises TopicAlreadyExistsError')
    adm.create_topics([NewTopic('doomed', num_partitions=1, replication_factor=1)])
    check({'kp', 'doomed'} <= set(adm.list_topics()), 'list_topics shows created topics')
    adm.delete_topics(['doomed'])
    time.sleep(0.2)
    check('doomed' not in set(adm.list_topics()), 'delete_topics removes a topic')
    prod = KafkaProducer(bootstrap_servers=B, acks='all')
    t0 = int(time.time() * 1000)
    offsets = []
    for i in range(4):
        md = prod.send('kp', key=b'k%d' % i, value=b'v%d' % i, partition=i % 2,
                       headers=[('h', b'x')], timestamp_ms=t0 + i * 1000).get(timeout=10)
        offsets.append((md.partition, md.offset))
    check(offsets == [(0, 0), (1, 0), (0, 1), (1, 1)], 'acks=all producer offsets')
    KafkaProducer(bootstrap_servers=B, acks=0).send('kp', b'ack0', partition=0).get(timeout=10)
    off = KafkaProducer(bootstrap_servers=B, acks=1).send('kp', b'ack1', partition=1).get(timeout=10).offset
    check(off == 2, 'acks=1 producer offset')
    c = KafkaConsumer('kp', bootstrap_servers=B, group_id='kpg', auto_offset_reset='earliest',
                      enable_auto_commit=False, consumer_timeout_ms=4000)
    got = sorted((m.partition, m.offset, m.value, m.headers) for m in c)
    check([g[:3] for g in got] == [(0, 0, b'v0'), (0, 1, b'v2'), (0, 2, b'ack0'), (1, 0, b'v1'),
                                   (1, 1, b'v3'), (1, 2, b'ack1')], 'group consumer reads everything')
    check(got[0][3] == [('h', b'x')], 'headers round-trip')
    c.commit()
    tp0 = TopicPartition('kp', 0)
    check(c.committed(tp0) == 3, 'committed offset read back')
    check(c.offsets_for_times({tp0: t0 + 1500})[tp0].offset == 1, 'offsets_for_times')
    check((c.beginning_offsets([tp0])[tp0], c.end_offsets([tp0])[tp0]) == (0, 3), 'earliest/latest')
    check(('kpg', 'consumer') in adm.list_consumer_groups(), 'list_consumer_groups')
    g = adm.describe_consumer_groups(['kpg'])[0]
    check((g.state, g.protocol, len(g.members)) == ('Stable', 'range', 1), 'describe_consumer_groups')
    c.close()
    offs = sorted((tp.partition, om.offset) for tp, om in adm.list_consumer_group_offsets('kpg').items())
    check(offs == [(0, 3), (1, 3)], 'list_consumer_group_offsets')
    r = subprocess.run([ARGS.sluice, 'group', 'describe', 'kpg', '--data', server.data_dir],
                       capture_output=True, text=True)
    check(r.returncode == 0 and 'kp' in r.stdout, 'sluice group describe reads the group while serving')


def case_group(server):
    from kafka.admin import KafkaAdminClient, NewTopic
    KafkaAdminClient(bootstrap_servers=server.broker).create_topics([NewTopic('tg', 4, 1)])
    for p in range(4):
        kcat(server, '-P', '-t', 'tg', '-p', str(p), stdin='m%d\n' % p)
    tmp = os.path.dirname(server.data_dir)
    def member(name, secs):
        out = open(os.path.join(tmp, name + '.out'), 'w')
        err = open(os.path.join(tmp, name + '.err'), 'w')
        return subprocess.Popen(['timeout', str(secs), KCAT, '-b', server.broker, '-G', 'g1', '-X',
                                 'auto.offset.reset=earliest', '-f', name + ' %p@%o %s\n', 'tg'],
                                stdout=out, stderr=err)
    a = member('A', 16)
    time.sleep(2)
    b = member('B', 10)
    time.sleep(7)
    for p in range(4):
        kcat(server, '-P', '-t', 'tg', '-p', str(p), stdin='n%d\n' % p)
    a.wait(); b.wait()
    A = open(os.path.join(tmp, 'A.out')).read().split('\n')
    Bo = open(os.path.join(tmp, 'B.out')).read().split('\n')
    berr = open(os.path.join(tmp, 'B.err')).read()
    aerr = open(os.path.join(tmp, 'A.err')).read()
    check(sorted(l.split()[2] for l in A if l.startswith('A') and l.split()[2].startswith('m')) ==
          ['m0', 'm1', 'm2', 'm3'], 'member A alone in generation 1 read m0..m3')
    n_records = sorted(l.split()[2] for l in A + Bo if l and l.split()[2].startswith('n'))
    check(n_records == ['n0', 'n1', 'n2', 'n3'], 'n0..n3 consumed exactly once across both members')
    b_assigned = [l for l in berr.splitlines() if 'assigned:' in l]
    check(len(b_assigned) >= 1 and b_assigned[0].count('tg [') == 2, 'B was assigned two partitions')
    check(any(l.count('tg [') == 2 for l in aerr.splitlines() if 'assigned:' in l),
          'A was assigned the other two partitions')
    check(sum(1 for l in Bo if l.startswith('B')) >= 1, 'B consumed records of its partitions')
    r = subprocess.run([ARGS.sluice, 'group', 'describe', 'g1', '--data', server.data_dir],
                       capture_output=True, text=True)
    rows = [l.split() for l in r.stdout.splitlines()[1:]]
    check(len(rows) == 4 and all(row[2] == '2' and row[4] == '0' for row in rows),
          'sluice group describe: kcat group committed offset 2 with lag 0 on all partitions')


def case_restart(server):
    """Committed offsets survive a server restart; the group resumes where it left off."""
    from kafka import KafkaProducer, KafkaConsumer
    prod = KafkaProducer(bootstrap_servers=server.broker, acks='all')
    for i in range(10):
        prod.send('resume', value=b'a%d' % i, partition=0).get(timeout=10)
    prod.close()
    c = KafkaConsumer('resume', bootstrap_servers=server.broker, group_id='rg',
                      auto_offset_reset='earliest', enable_auto_commit=False, consumer_timeout_ms=3000)
    first = [m.value for m in c]
    c.commit()
    c.close()
    check(first == [b'a%d' % i for i in range(10)], 'first consumer read a0..a9')
    rc = server.stop(signal.SIGTERM)
    check(rc == 0 and 'stopped' in server.logtext(), 'SIGTERM stops the server cleanly (exit 0)')
    server.start()
    prod = KafkaProducer(bootstrap_servers=server.broker, acks='all')
    for i in range(5):
        prod.send('resume', value=b'b%d' % i, partition=0).get(timeout=10)
    prod.close()
    c = KafkaConsumer('resume', bootstrap_servers=server.broker, group_id='rg',
                      auto_offset_reset='earliest', enable_auto_commit=False, consumer_timeout_ms=3000)
    second = [m.value for m in c]
    c.close()
    check(second == [b'b%d' % i for i in range(5)], 'after restart the group resumes at its commit')


def case_kill9(server):
    """kill -9 during acks=all produce: every acknowledged record is there after restart."""
    from kafka import KafkaProducer, KafkaConsumer, TopicPartition
    for rnd in range(3):
        acked = {}
        lock = threading.Lock()
        prod = KafkaProducer(bootstrap_servers=server.broker, acks='all', linger_ms=2, retries=0,
                             max_block_ms=2000, request_timeout_ms=3000)
        stop = threading.Event()
        def ok(value, md):
            with lock:
                acked[md.offset] = value
        def produce():
            i = 0
            while not stop.is_set():
                v = b'r%d-%d' % (rnd, i)
                try:
                    prod.send('k9', value=v, partition=0).add_callback(ok, v)
                except Exception:
                    return
                i += 1
                if i % 200 == 0:
                    time.sleep(0.001)
        t = threading.Thread(target=produce)
        t.start()
        deadline = time.time() + 10
        while time.time() < deadline:
            with lock:
                if len(acked) > 2000:
                    break
            time.sleep(0.01)
        server.proc.send_signal(signal.SIGKILL)
        server.proc.wait()
        server.log.close()
        stop.set()
        t.join()
        try:
            prod.close(timeout=3)
        except Exception:
            pass
        with lock:
            snapshot = dict(acked)
        check(len(snapshot) > 0, 'round %d: %d records acknowledged before kill -9' % (rnd, len(snapshot)))
        server.start()
        c = KafkaConsumer(bootstrap_servers=server.broker, enable_auto_commit=False,
                          consumer_timeout_ms=3000)
        tp = TopicPartition('k9', 0)
        c.assign([tp])
        c.seek(tp, min(snapshot))
        stored = {m.offset: m.value for m in c}
        c.close()
        missing = [o for o, v in snapshot.items() if stored.get(o) != v]
        check(not missing, 'round %d: all %d acknowledged records present at their offsets after restart'
              % (rnd, len(snapshot)))


def case_run(server):
    """`sluice serve --run wordcount`: Kafka clients feed a job in the same process and read it."""
    server.stop()
    tmp = os.path.dirname(server.data_dir)
    data = os.path.join(tmp, 'run-data')
    r = subprocess.run([ARGS.sluice, 'topic', 'create', 'lines', '--partitions', '2', '--data', data],
                       capture_output=True, text=True)
    check(r.returncode == 0, 'created the input topic before serving')
    run = Server(data, ['--run', 'wordcount', '--input', 'lines', '--output', 'word-counts',
                        '--state', os.path.join(tmp, 'run-state')])
    run.start()
    try:
        r = kcat(run, '-P', '-t', 'lines', stdin='the cat\nthe dog\nthe end\n')
        check(r.returncode == 0, 'kcat produced lines into the job input')
        final = {}
        deadline = time.time() + 30
        while time.time() < deadline and final.get('the') != '3':
            r = kcat(run, '-C', '-t', 'word-counts', '-o', 'beginning', '-e', '-f', '%k=%s\n')
            final = dict(l.split('=', 1) for l in r.stdout.splitlines() if '=' in l)
            time.sleep(0.2)
        check(final == {'the': '3', 'cat': '1', 'dog': '1', 'end': '1'},
              'kcat consumed the running job\'s word counts: %s' % final)
        # Issue 16 item 1: deleting a topic the job uses crashed the server (input) or made it
        # exit 1 (output). Both are refused with POLICY_VIOLATION; server and job keep running.
        from kafka.admin import KafkaAdminClient
        from kafka.errors import PolicyViolationError
        adm = KafkaAdminClient(bootstrap_servers=run.broker)
        for topic in ('lines', 'word-counts'):
            try:
                adm.delete_topics([topic])
                refused = False
            except PolicyViolationError:
                refused = True
            check(refused, 'DeleteTopics of the job\'s topic %s is refused with POLICY_VIOLATION' % topic)
        adm.close()
        check(run.proc.poll() is None, 'the server still runs after the refused deletions')
        r = kcat(run, '-P', '-t', 'lines', stdin='the last\n')
        deadline = time.time() + 30
        while time.time() < deadline and final.get('the') != '4':
            r = kcat(run, '-C', '-t', 'word-counts', '-o', 'beginning', '-e', '-f', '%k=%s\n')
            final = dict(l.split('=', 1) for l in r.stdout.splitlines() if '=' in l)
            time.sleep(0.2)
        check(final.get('the') == '4' and final.get('last') == '1',
              'the job still counts after the refused deletions: %s' % final)
        rc = run.stop()
        check(rc == 0, 'SIGTERM stops the job and the server cleanly')
    finally:
        if run.proc.poll() is None:
            run.proc.kill()
    server.start()


KAFKAJS_EXPECTED = """create true
create again false
idempotent acks=-1 0:0 1:0 2:0
acks=1 2
acks=0 []
auto-create 0
offsets 0:0-4 1:0-2 2:0-2
by timestamp 0:1 1:1 2:1
consumed 0@0=v0 0@1=v3 0@2=a1 0@3=a0 1@0=v1 1@1=v4 2@0=v2 2@1=v5
describe Stable RoundRobinAssigner 1
list kjg
committed 0:4 1:2 2:2
"""


def case_kafkajs(server):
    """kafkajs 2.2.4 (npm): admin, idempotent producer, acks 0/1, offsets by time, group consumer."""
    npm_dir = ARGS.npm_dir or os.path.join(tempfile.gettempdir(), 'sluice-kafkajs-2.2.4')
    module = os.path.join(npm_dir, 'node_modules', 'kafkajs')
    if not os.path.isdir(module):
        os.makedirs(npm_dir, exist_ok=True)
        r = subprocess.run(['npm', 'install', '--prefix', npm_dir, '--no-audit', '--no-fund',
                            'kafkajs@2.2.4'], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            fail('npm install kafkajs@2.2.4 failed (the npm registry must be reachable):\n' + r.stderr)
    env = dict(os.environ, NODE_PATH=os.path.join(npm_dir, 'node_modules'),
               KAFKAJS_NO_PARTITIONER_WARNING='1')
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'kafkajs_client.js')
    r = subprocess.run(['node', script, server.broker], capture_output=True, text=True, env=env,
                       timeout=120)
    if r.stdout != KAFKAJS_EXPECTED:
        fail('kafkajs output differs:\n--- got ---\n%s\n--- stderr ---\n%s\n--- expected ---\n%s'
             % (r.stdout, r.stderr, KAFKAJS_EXPECTED))
    check(r.returncode == 0, 'kafkajs producer, admin and group consumer match T14')



def log_bytes(server, topic):
    d = os.path.join(server.data_dir, 'topics', topic)
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(d) for f in fs
               if f.endswith('.log'))


def case_compression(server):
    """Every codec from kcat (-z), confluent-kafka and kafka-python: read back identically by kcat
    and, after the server stops, by `sluice consume`; stored compressed (librdkafka compresses
    gzip/snappy/lz4 only if Produce is advertised from v0); offsetsForTimes finds the exact record
    inside a compressed batch; a poison gzip batch over the wire is refused."""
    import confluent_kafka
    from kafka import KafkaProducer
    from kafka.admin import KafkaAdminClient, NewTopic
    n, base_ts = 200, 1700000000000
    values = ['record %04d of a very compressible payload, %s' % (i, 'abc' * 20) for i in range(n)]
    codecs = ['gzip', 'snappy', 'lz4', 'zstd']
    topics = ['z-%s-%s' % (client, c) for client in ('kcat', 'ck', 'kp') for c in codecs]
    adm = KafkaAdminClient(bootstrap_servers=server.broker)
    adm.create_topics([NewTopic(t, 1, 1) for t in topics + ['z-none']])
    adm.close()
    r = kcat(server, '-P', '-t', 'z-none', '-p', '0', '-z', 'none', stdin=''.join(v + '\n' for v in values))
    check(r.returncode == 0, 'kcat produced %d uncompressed records' % n)
    for c in codecs:
        r = kcat(server, '-P', '-t', 'z-kcat-' + c, '-p', '0', '-z', c, '-X', 'linger.ms=200',
                 stdin=''.join(v + '\n' for v in values))
        check(r.returncode == 0 and 'error' not in r.stderr.lower(), 'kcat -z %s produced' % c)
        p = confluent_kafka.Producer({'bootstrap.servers': server.broker, 'compression.type': c,
                                      'linger.ms': 200, 'acks': 'all'})
        for i, v in enumerate(values):
            p.produce('z-ck-' + c, v.encode(), partition=0, timestamp=base_ts + 10 * i)
        check(p.flush(30) == 0, 'confluent-kafka compression.type=%s produced' % c)
        kp = KafkaProducer(bootstrap_servers=server.broker, compression_type=c, linger_ms=200,
                           acks='all')
        for i, v in enumerate(values):
            kp.send('z-kp-' + c, v.encode(), partition=0, timestamp_ms=base_ts + 10 * i)
        kp.flush(30)
        kp.close()
    plain = log_bytes(server, 'z-none')
    for t in topics:
        r = kcat(server, '-C', '-t', t, '-p', '0', '-o', 'beginning', '-e', '-f', '%s\n')
        check(r.stdout.splitlines() == values, '%s: kcat reads back all %d records in order' % (t, n))
        size = log_bytes(server, t)
        check(size * 4 < plain, '%s: %d bytes on disk, under a quarter of %d uncompressed' %
              (t, size, plain))
    cons = confluent_kafka.Consumer({'bootstrap.servers': server.broker, 'group.id': 'zt'})
    for t in topics:
        if t.startswith('z-kcat'):
            continue
        at = cons.offsets_for_times([confluent_kafka.TopicPartition(t, 0, base_ts + 10 * 70 - 5)],
                                    timeout=10)
        check(at[0].offset == 70, '%s: offsetsForTimes inside a compressed batch gives record 70 '
              '(got %d)' % (t, at[0].offset))
    cons.close()
    # The probe's poison: a gzip batch of garbage claiming 2^31-1 records, sent five times.
    import struct, zlib
    def crc32c(data):
        crc = 0xffffffff
        for b in data:
            crc ^= b
            for _ in range(8):
                crc = (crc >> 1) ^ (0x82f63b78 if crc & 1 else 0)
        return crc ^ 0xffffffff
    body = struct.pack('>hiqqqhii', 1, 0x7ffffffe, base_ts, base_ts, -1, -1, -1, 0x7fffffff) + \
        bytes((0x5a ^ (i * 37)) & 0xff for i in range(64))
    batch = struct.pack('>qiib', 0, 4 + 1 + 4 + len(body), 0, 2) + struct.pack('>I', crc32c(body)) + body
    topic = b'z-none'
    req = struct.pack('>hhi', 0, 7, 1) + struct.pack('>h', 5) + b'probe' + struct.pack('>hhi', -1, -1, 10000)
    req += struct.pack('>i', 1) + struct.pack('>h', len(topic)) + topic + struct.pack('>ii', 1, 0)
    req += struct.pack('>i', len(batch)) + batch
    def open_fds():
        return len(os.listdir('/proc/%d/fd' % server.proc.pid))
    fds = open_fds()  # before this connection: the server closes its side after ours, below
    sock = socket.create_connection(('127.0.0.1', server.port))
    for _ in range(5):
        sock.sendall(struct.pack('>i', len(req)) + req)
        size = struct.unpack('>i', sock.recv(4, socket.MSG_WAITALL))[0]
        resp = sock.recv(size, socket.MSG_WAITALL)
        err = struct.unpack('>h', resp[4 + 4 + 2 + len(topic) + 4 + 4:][:2])[0]
        check(err == 2, 'poison gzip batch answered CORRUPT_MESSAGE (got %d)' % err)
    sock.close()
    deadline = time.time() + 10
    while open_fds() > fds and time.time() < deadline:
        time.sleep(0.05)
    check(open_fds() <= fds, 'no file descriptor left behind')
    r = kcat(server, '-Q', '-t', 'z-none:0:-1')
    check('offset %d' % n in r.stdout, 'z-none end offset still %d' % n)
    rc = server.stop(signal.SIGTERM)
    check(rc == 0, 'server stopped')
    for t in topics:
        r = subprocess.run([ARGS.sluice, 'consume', t, '--from-beginning', '--data', server.data_dir],
                           capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and r.stdout.splitlines() == values,
              '%s: sluice consume reads the same %d records (%s)' % (t, n, r.stderr.strip()))
        if t.startswith('z-kcat'):
            continue
        r = subprocess.run([ARGS.sluice, 'consume', t, '--from-time', str(base_ts + 700),
                            '--data', server.data_dir], capture_output=True, text=True, timeout=60)
        check(r.stdout.splitlines() == values[70:], '%s: consume --from-time starts at record 70' % t)
    server.start()


CASES = {'kcat': case_kcat, 'python': case_python, 'group': case_group, 'restart': case_restart,
         'kill9': case_kill9, 'kafkajs': case_kafkajs, 'run': case_run,
         'compression': case_compression}


def case_compaction(server):
    """A compacted topic (created over CreateTopics with cleanup.policy=compact) read from offset 0
    by kcat and kafka-python after a cleaning: the latest record of every key at its offset, gaps
    stepped over, a fetch inside a gap answered with the next batch."""
    from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
    from kafka.admin import NewTopic
    adm = KafkaAdminClient(bootstrap_servers=server.broker)
    adm.create_topics([NewTopic('compacted', num_partitions=1, replication_factor=1,
                                topic_configs={'cleanup.policy': 'compact',
                                               'segment.bytes': '1024'})])
    adm.close()
    for r in range(8):  # one request per round: several 1 KiB segments
        lines = ''.join('k%d:r%d-v%d-%s\n' % (i % 5, r, i, 'x' * 20) for i in range(10))
        p = kcat(server, '-P', '-t', 'compacted', '-p', '0', '-K:', '-X', 'acks=all', stdin=lines)
        check(p.returncode == 0, 'kcat produced round %d to the compacted topic' % r)
    p = kcat(server, '-P', '-t', 'compacted', '-p', '0', '-K:', '-Z', '-X', 'acks=all',
             stdin='k4:\n')  # -Z: the empty value is sent as null, a tombstone
    check(p.returncode == 0, 'kcat produced a tombstone')

    def read(offset='beginning'):
        r = kcat(server, '-C', '-t', 'compacted', '-p', '0', '-o', str(offset), '-e', '-Z',
                 '-f', '%o|%k|%S|%s\n')
        check(r.returncode == 0, 'kcat read the compacted topic from %s' % offset)
        return [tuple(line.split('|', 3)) for line in r.stdout.splitlines() if line]

    before = read()
    check(len(before) == 81, 'all 81 records are there before the cleaning')
    server.stop(signal.SIGTERM)
    r = subprocess.run([ARGS.sluice, 'topic', 'compact', 'compacted', '--data', server.data_dir],
                       capture_output=True, text=True)
    check(r.returncode == 0 and 'cleaned' in r.stdout, 'sluice topic compact cleaned: ' + r.stdout)
    compacted = r
    server.start()
    after = read()
    offsets = [int(o) for o, _, _, _ in after]
    check(offsets == sorted(set(offsets)), 'offsets strictly increase after the cleaning')
    check(len(after) < len(before) // 3, 'the cleaning removed superseded records (%d of %d left)'
          % (len(after), len(before)))
    check(set(after) <= set(before), 'every record left is one that was written, at its offset')
    latest = {}
    for o, k, size, v in before:
        latest[k] = (o, k, size, v)
    last_after = {}
    for rec in after:
        last_after[rec[1]] = rec
    check(last_after == latest, 'the latest record of every key (k4: its tombstone) is kept')
    clean_end = int(re.search(r'offsets below (\d+) are clean', compacted.stdout).group(1))
    want_clean = {}
    for rec in before:
        if int(rec[0]) < clean_end:
            want_clean[rec[1]] = rec
    check([rec for rec in after if int(rec[0]) < clean_end] ==
          sorted(want_clean.values(), key=lambda rec: int(rec[0])),
          'below offset %d exactly the latest record of each key there is left' % clean_end)
    gap = next(o for o in range(offsets[-1]) if o not in offsets)
    nxt = min(o for o in offsets if o > gap)
    r = read(gap)
    check(r and int(r[0][0]) == nxt, 'a fetch at removed offset %d starts at the next record %d'
          % (gap, nxt))
    c = KafkaConsumer(bootstrap_servers=server.broker, enable_auto_commit=False,
                      consumer_timeout_ms=3000)
    tp = TopicPartition('compacted', 0)
    c.assign([tp])
    c.seek(tp, 0)
    got = [(m.offset, m.key.decode(), m.value) for m in c]
    check((c.beginning_offsets([tp])[tp], c.end_offsets([tp])[tp]) == (0, 81),
          'ListOffsets: earliest 0, latest 81 (offsets are kept)')
    c.close()
    want = [(int(o), k, None if size == '-1' else v.encode()) for o, k, size, v in after]
    check(got == want, 'kafka-python from offset 0 reads exactly what kcat reads')


CASES['compaction'] = case_compaction


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument('--sluice', required=True)
    ap.add_argument('--case', action='append')
    ap.add_argument('--npm-dir', help='where kafkajs@2.2.4 is (or gets) npm-installed')
    ARGS = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix='sluice-clients-')
    server = Server(os.path.join(tmp, 'data'))
    server.start()
    try:
        for name in ARGS.case or ['kcat', 'python', 'group', 'restart']:
            print('== case', name, flush=True)
            CASES[name](server)
        if server.proc.poll() is None:
            server.stop()
    except SystemExit:
        print('--- server log ---\n' + server.logtext())
        if server.proc and server.proc.poll() is None:
            server.proc.kill()
        raise
    shutil.rmtree(tmp, ignore_errors=True)
    print('PASS')


if __name__ == '__main__':
    main()
