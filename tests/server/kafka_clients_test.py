#!/usr/bin/python3
"""Real Kafka clients against the real `sluice serve` binary on a free loopback port.

Run by ctest with Debian's /usr/bin/python3 (python3-kafka) and /usr/bin/kcat:
  kafka_clients_test.py --sluice PATH [--case NAME ...]
Cases: kcat, python, group, restart, run, kill9, compression, compaction, kafkajs, admin, kafkajs_admin, static (default: kcat python group restart).
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
        # reliability-scenarios: issue16 item 1
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


class Raw:
    """A bare Kafka protocol connection, for APIs the installed clients do not call."""

    def __init__(self, server):
        self.sock = socket.create_connection(('127.0.0.1', server.port), timeout=10)
        self.corr = 0

    def call(self, key, version, body, flexible):
        import struct
        self.corr += 1
        head = struct.pack('>hhih', key, version, self.corr, 3) + b'raw'
        if flexible:
            head += b'\x00'
        frame = head + body
        self.sock.sendall(struct.pack('>i', len(frame)) + frame)
        def read(n):
            out = b''
            while len(out) < n:
                chunk = self.sock.recv(n - len(out))
                if not chunk:
                    fail('connection closed by the server (api %d v%d)' % (key, version))
                out += chunk
            return out
        size = struct.unpack('>i', read(4))[0]
        resp = read(size)
        check(struct.unpack('>i', resp[:4])[0] == self.corr, 'api %d v%d answered' % (key, version))
        return resp[5:] if flexible else resp[4:]

    def close(self):
        self.sock.close()


def raw_str(s, flexible):
    import struct
    b = s.encode()
    return bytes([len(b) + 1]) + b if flexible else struct.pack('>h', len(b)) + b


def case_admin(server):
    """Admin APIs through kafka-python, confluent-kafka and raw frames; kill -9 keeps their effects."""
    import struct
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic, ConfigResource, ConfigResourceType
    from confluent_kafka.admin import AdminClient, ConfigResource as CfResource
    B = server.broker
    adm = KafkaAdminClient(bootstrap_servers=B)
    adm.create_topics([NewTopic('ad', 2, 1, topic_configs={'segment.bytes': '1024'})])

    def kp_configs(topic):
        r = adm.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])[0]
        res = r.resources[0]
        check(res[0] == 0, 'kafka-python describe_configs %s: no error' % topic)
        return {c[0]: c[1] for c in res[4]}
    cfg = kp_configs('ad')
    check(cfg.get('segment.bytes') == '1024' and cfg.get('retention.ms') == '-1' and
          cfg.get('max.message.bytes') == '1048588', 'describe_configs shows the topic configs')
    check(cfg.get('cleanup.policy') == 'delete' and cfg.get('min.cleanable.dirty.ratio') == '0.5' and
          cfg.get('delete.retention.ms') == '86400000' and cfg.get('min.compaction.lag.ms') == '0',
          'describe_configs lists the compaction keys at their defaults (%s)' % cfg)
    # Describe, alter (AlterConfigs replaces the whole set) with every described value, describe:
    # nothing changes.
    r = adm.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'ad', configs=dict(cfg))])
    check(r.resources[0][0] == 0, 'alter_configs with the described values: no error (%s)' %
          (r.resources[0][1],))
    check(kp_configs('ad') == cfg, 'describe, alter with the described values, describe is stable')
    r = adm.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'ad',
                                          configs={'retention.ms': '86400000',
                                                   'segment.bytes': '1024'})])
    check(r.resources[0][0] == 0, 'kafka-python alter_configs retention.ms: no error')
    check(kp_configs('ad').get('retention.ms') == '86400000', 'describe_configs shows the change')
    r = adm.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'ad',
                                          configs={'no.such.config': '1'})])
    check(r.resources[0][0] == 40 and 'Unknown topic config name' in r.resources[0][1],
          'unknown config: INVALID_CONFIG with a message (%s)' % r.resources[0][1])
    r = adm.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'ad',
                                          configs={'min.insync.replicas': '2'})])
    check(r.resources[0][0] == 40 and 'not supported' in r.resources[0][1],
          'unsupported Kafka config: INVALID_CONFIG saying so')
    r = adm.alter_configs([ConfigResource(ConfigResourceType.TOPIC, 'ad',
                                          configs={'retention.ms': 'soon'})])
    check(r.resources[0][0] == 40, 'bad value: INVALID_CONFIG')
    check(kp_configs('ad').get('retention.ms') == '86400000', 'refused changes changed nothing')
    r = adm.describe_configs([ConfigResource(ConfigResourceType.BROKER, '1')])[0].resources[0]
    check(r[0] == 0 and any(c[0] == 'num.partitions' and c[2] for c in r[4]),
          'broker configs are described read-only')

    # confluent-kafka (librdkafka 2.0): DescribeConfigs and AlterConfigs.
    cf = AdminClient({'bootstrap.servers': B})
    res = cf.describe_configs([CfResource('topic', 'ad')])
    got = list(res.values())[0].result(timeout=10)
    check(got['retention.ms'].value == '86400000' and not got['retention.ms'].is_read_only,
          'confluent-kafka describe_configs')
    fut = list(cf.alter_configs([CfResource('topic', 'ad', set_config={
        'retention.ms': '7200000', 'segment.bytes': '1024'})]).values())[0]
    fut.result(timeout=10)
    check(kp_configs('ad').get('retention.ms') == '7200000', 'confluent-kafka alter_configs')
    try:
        list(cf.alter_configs([CfResource('topic', 'ad', set_config={'bogus': 'x'})]).values())[0].result(timeout=10)
        fail('confluent-kafka alter_configs of an unknown key succeeded')
    except Exception as e:
        check('INVALID_CONFIG' in str(e) or 'Unknown topic config' in str(e),
              'confluent-kafka sees INVALID_CONFIG (%s)' % e)

    # Raw: IncrementalAlterConfigs v1 (flexible): SET then DELETE back to the default.
    raw = Raw(server)
    def incremental(ops, version=1):
        flex = version >= 1
        body = bytes([2]) if flex else struct.pack('>i', 1)
        body += bytes([2]) + raw_str('ad', flex)
        body += bytes([len(ops) + 1]) if flex else struct.pack('>i', len(ops))
        for name, op, value in ops:
            body += raw_str(name, flex) + bytes([op])
            body += raw_str(value, flex) if value is not None else (b'\x00' if flex else b'\xff\xff')
            if flex: body += b'\x00'
        if flex: body += b'\x00'
        body += b'\x00' + (b'\x00' if flex else b'')
        resp = raw.call(44, version, body, flex)
        return struct.unpack('>h', resp[5:7])[0]
    check(incremental([('retention.bytes', 0, '1000000')]) == 0, 'IncrementalAlterConfigs v1 SET')
    check(kp_configs('ad').get('retention.bytes') == '1000000', 'the SET is described')
    check(incremental([('retention.bytes', 1, None)], version=0) == 0,
          'IncrementalAlterConfigs v0 DELETE')
    check(kp_configs('ad').get('retention.bytes') == '-1' and
          kp_configs('ad').get('retention.ms') == '7200000', 'DELETE restores the default only')
    check(incremental([('retention.ms', 2, '5')]) == 40, 'APPEND to a non-list: INVALID_CONFIG')

    # DescribeCluster v0 and v1 (flexible in every version).
    for v in (0, 1):
        body = b'\x00' + (b'\x01' if v >= 1 else b'') + b'\x00'
        resp = raw.call(60, v, body, True)
        err = struct.unpack('>h', resp[4:6])[0]
        check(err == 0 and ('127.0.0.1').encode() in resp and struct.pack('>i', server.port) in resp,
              'DescribeCluster v%d names this broker' % v)

    # DeleteRecords: 40 records in 1 KiB segments, delete before 25, kill -9, restart.
    prod = KafkaProducer(bootstrap_servers=B, acks=1, linger_ms=0)
    for i in range(40):
        prod.send('ad', b'x' * 200, partition=0).get(timeout=10)
    prod.close()
    def delete_records(offset, version):
        flex = version >= 2
        body = (bytes([2]) if flex else struct.pack('>i', 1)) + raw_str('ad', flex)
        body += (bytes([2]) if flex else struct.pack('>i', 1)) + struct.pack('>iq', 0, offset)
        if flex: body += b'\x00\x00'
        body += struct.pack('>i', 5000) + (b'\x00' if flex else b'')
        resp = raw.call(21, version, body, flex)
        # throttle, topics[1], name, partitions[1], index, low watermark, error
        off = 4 + (1 if flex else 4) + (1 if flex else 2) + 2 + (1 if flex else 4) + 4
        low, err = struct.unpack('>qh', resp[off:off + 10])
        return low, err
    low, err = delete_records(25, 2)
    check(err == 0 and low == 25, 'DeleteRecords v2 moves the log start (%d) to 25 exactly' % low)
    check(delete_records(41, 0)[1] == 1, 'DeleteRecords past the high watermark: OFFSET_OUT_OF_RANGE')
    raw.close()
    def earliest():
        c = KafkaConsumer(bootstrap_servers=B)
        e = c.beginning_offsets([TopicPartition('ad', 0)])[TopicPartition('ad', 0)]
        c.close()
        return e
    check(earliest() == low, 'ListOffsets earliest is the new log start')
    adm.close()

    # Groups: commits, then OffsetDelete and DeleteGroups.
    c = KafkaConsumer(bootstrap_servers=B, group_id='gone', enable_auto_commit=False)
    from kafka.structs import OffsetAndMetadata
    c.commit({TopicPartition('ad', 0): OffsetAndMetadata(30, ''),
              TopicPartition('ad', 1): OffsetAndMetadata(0, '')})
    c.close()
    raw = Raw(server)
    body = raw_str('gone', False) + struct.pack('>i', 1) + raw_str('ad', False) + struct.pack('>ii', 1, 1)
    resp = raw.call(47, 0, body, False)
    check(struct.unpack('>h', resp[:2])[0] == 0 and resp.endswith(struct.pack('>ih', 1, 0)),
          'OffsetDelete v0 removes partition 1 of an empty group')
    body = raw_str('nobody', False) + struct.pack('>i', 0)
    check(struct.unpack('>h', raw.call(47, 0, body, False)[:2])[0] == 69,
          'OffsetDelete of an unknown group: GROUP_ID_NOT_FOUND')
    raw.close()

    print('-- kill -9 and restart', flush=True)
    server.stop(signal.SIGKILL)
    server.start()
    adm = KafkaAdminClient(bootstrap_servers=B)
    check(kp_configs('ad').get('retention.ms') == '7200000', 'altered config survives kill -9')
    check(earliest() == low, 'the log start DeleteRecords set survives kill -9')
    offs = {tp.partition: om.offset for tp, om in adm.list_consumer_group_offsets('gone').items()}
    check(offs == {0: 30}, 'OffsetDelete survives kill -9; the other offset is kept (%s)' % offs)
    live = KafkaConsumer('ad', bootstrap_servers=B, group_id='live', consumer_timeout_ms=3000)
    for _ in live: pass
    res = dict((g, e) for g, e in adm.delete_consumer_groups(['gone', 'live', 'never']))
    check(res['gone'].errno == 0 and res['live'].errno == 68 and res['never'].errno == 69,
          'DeleteGroups: NONE / NON_EMPTY_GROUP / GROUP_ID_NOT_FOUND (%s)' % res)
    live.close()
    check(adm.list_consumer_group_offsets('gone') == {}, 'a deleted group has no offsets')
    check('gone' not in [g for g, _ in adm.list_consumer_groups()], 'a deleted group is not listed')
    adm.close()


def case_static(server):
    """confluent-kafka (librdkafka) static members: a restart with the same group.instance.id gets
    its partitions back and the other member sees no rebalance; a duplicate instance is fenced;
    LeaveGroup by instance id; kill -9 of the server: the member rejoins, no commit is lost."""
    import struct
    from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition as CfTp
    from kafka.admin import KafkaAdminClient, NewTopic
    B = server.broker
    KafkaAdminClient(bootstrap_servers=B).create_topics([NewTopic('st', 4, 1)])
    events = {}

    def member(name, instance):
        events[name] = []
        c = Consumer({'bootstrap.servers': B, 'group.id': 'sg', 'group.instance.id': instance,
                      'session.timeout.ms': 30000, 'heartbeat.interval.ms': 300,
                      'auto.offset.reset': 'earliest', 'enable.auto.commit': False})
        c.subscribe(['st'],
                    on_assign=lambda _, ps: events[name].append(('assign', sorted(p.partition for p in ps))),
                    on_revoke=lambda _, ps: events[name].append(('revoke', sorted(p.partition for p in ps))))
        return c

    def poll(consumers, until, secs=20):
        """Polls every consumer until until() holds; returns {name: [records]} and fatal errors."""
        got = {n: [] for n in consumers}
        fatal = {}
        deadline = time.time() + secs
        while time.time() < deadline:
            for n, c in consumers.items():
                if n in fatal:
                    continue
                m = c.poll(0.05)
                if m is None:
                    continue
                if m.error():
                    # confluent-kafka 1.7 reports a fatal error as code _FATAL (fatal() False).
                    if m.error().fatal() or m.error().code() == KafkaError._FATAL:
                        fatal[n] = m.error()
                    continue
                got[n].append((m.partition(), m.offset()))
            if until(got, fatal):
                return got, fatal
        fail('timed out polling %s: events %s, fatal %s' % (list(consumers), events, fatal))

    def assigned(name):
        last = [e for e in events[name] if e[0] == 'assign']
        return last[-1][1] if last else None

    prod = Producer({'bootstrap.servers': B})
    def produce(n, tag):
        for i in range(n):
            prod.produce('st', value=b'%s-%d' % (tag, i), partition=i % 4)
        prod.flush(10)
    produce(8, b'first')
    a, b = member('a', 'inst-a'), member('b', 'inst-b')
    poll({'a': a, 'b': b}, lambda g, f: assigned('a') and assigned('b') and
         len(assigned('a')) + len(assigned('b')) == 4 and sum(len(v) for v in g.values()) == 8)
    a_parts, b_events = assigned('a'), list(events['b'])
    adm = KafkaAdminClient(bootstrap_servers=B)
    def member_ids():
        return set(m.member_id for m in adm.describe_consumer_groups(['sg'])[0].members)
    ids_before = member_ids()
    check(len(a_parts) == 2, 'two static members split four partitions (a: %s)' % a_parts)

    # Restart of a: a new process with the same instance id.
    a.close()
    a2 = member('a2', 'inst-a')
    poll({'a2': a2, 'b': b}, lambda g, f: assigned('a2') is not None, secs=15)
    poll({'a2': a2, 'b': b}, lambda g, f: True, secs=2)
    check(assigned('a2') == a_parts, 'the restarted static member gets its partitions back')
    ids_after = member_ids()
    check(len(ids_after) == 2 and len(ids_after & ids_before) == 1,
          'under a new member id; the other member keeps its id')
    check(events['b'] == b_events, 'the other member saw no rebalance (no revoke/assign: %s)'
          % events['b'][len(b_events):])

    # A duplicate instance: the running one is fenced, and only one of them consumes.
    a3 = member('a3', 'inst-a')
    _, fatal = poll({'a2': a2, 'a3': a3, 'b': b},
                    lambda g, f: 'a2' in f and assigned('a3') is not None, secs=20)
    check('a2' in fatal and 'FENCED' in str(fatal['a2']).upper(),
          'the older process of the instance is fenced (%s)' % fatal.get('a2'))
    produce(8, b'second')
    got, _ = poll({'a3': a3, 'b': b}, lambda g, f: len(g['a3']) + len(g['b']) == 8)
    check(sorted(p for p, _ in got['a3']) == sorted(a_parts * 2) and events['b'] == b_events,
          'the new process consumes the instance\'s partitions; b still saw no rebalance '
          '(a3 got %s, a_parts %s, b events since %s)'
          % (got['a3'], a_parts, events['b'][len(b_events):]))
    a2.close()

    # b goes away without leaving (static members do not); LeaveGroup by instance id removes it
    # at once instead of after its 30 s session timeout.
    b.close()
    raw = Raw(server)
    body = raw_str('sg', False) + struct.pack('>i', 1) + raw_str('', False) + raw_str('inst-b', False)
    resp = raw.call(13, 3, body, False)
    raw.close()
    check(struct.unpack('>h', resp[4:6])[0] == 0 and resp.endswith(struct.pack('>h', 0)),
          'LeaveGroup v3 by instance id')
    poll({'a3': a3}, lambda g, f: assigned('a3') and len(assigned('a3')) == 4, secs=12)
    check(True, 'the remaining member takes all four partitions after the leave')

    # Commits, kill -9 of the server, restart: the member rejoins and commits again; nothing
    # committed before is lost.
    produce(8, b'third')
    poll({'a3': a3}, lambda g, f: all((p, 5) in g['a3'] for p in range(4)))
    a3.commit(asynchronous=False)
    before = {tp.partition: tp.offset for tp in a3.committed([CfTp('st', p) for p in range(4)], timeout=10)}
    check(sorted(before.values()) == [6, 6, 6, 6], 'committed before the crash: %s' % before)
    server.stop(signal.SIGKILL)
    server.start()
    after = {tp.partition: tp.offset for tp in a3.committed([CfTp('st', p) for p in range(4)], timeout=20)}
    check(after == before, 'every commit survives kill -9 of the server')
    produce(4, b'fourth')
    poll({'a3': a3}, lambda g, f: all((p, 6) in g['a3'] for p in range(4)), secs=40)
    # The server forgot the group's members at its restart (the documented rejoin), so a3 rejoins
    # and its positions go back to the committed offsets: it reads the fourth records again, and
    # a commit of its positions may find the member unknown or commit a position not yet read
    # again. Poll and commit until the commits hold what it has read, bounded.
    final, last = None, None
    for attempt in range(80):
        a3.poll(0.25)
        try:
            a3.commit(asynchronous=False)
            final = {tp.partition: tp.offset
                     for tp in a3.committed([CfTp('st', p) for p in range(4)], timeout=10)}
            if sorted(final.values()) == [7, 7, 7, 7]:
                break
        except Exception as e:
            last = e
    check(final is not None and sorted(final.values()) == [7, 7, 7, 7],
          'commits after the restart succeed: %s (last error: %s)' % (final, last))
    a3.close()
    adm.close()


def kafkajs_env():
    npm_dir = ARGS.npm_dir or os.path.join(tempfile.gettempdir(), 'sluice-kafkajs-2.2.4')
    module = os.path.join(npm_dir, 'node_modules', 'kafkajs')
    if not os.path.isdir(module):
        os.makedirs(npm_dir, exist_ok=True)
        r = subprocess.run(['npm', 'install', '--prefix', npm_dir, '--no-audit', '--no-fund',
                            'kafkajs@2.2.4'], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            fail('npm install kafkajs@2.2.4 failed (the npm registry must be reachable):\n' + r.stderr)
    return dict(os.environ, NODE_PATH=os.path.join(npm_dir, 'node_modules'),
                KAFKAJS_NO_PARTITIONER_WARNING='1')


KAFKAJS_ADMIN_EXPECTED = """consumed 20
committed 0:10 1:10
after resetOffsets earliest 0:-1 1:-1
consumed again 20
describeConfigs retention.ms=-1 segment.bytes=1024
after alterConfigs retention.ms=600000 segment.bytes=1024
alterConfigs x.y INVALID_CONFIG
deleteTopicRecords low in 1..6 true
deleteGroups [{"groupId":"jg","errorCode":0}]
deleteGroups nope GROUP_ID_NOT_FOUND
"""


def case_kafkajs_admin(server):
    """kafkajs 2.2.4 admin: resetOffsets (commits the -2 placeholder), configs, records, groups."""
    env = kafkajs_env()
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'kafkajs_admin.js')
    r = subprocess.run(['node', script, server.broker], capture_output=True, text=True, env=env,
                       timeout=120)
    if r.stdout != KAFKAJS_ADMIN_EXPECTED:
        fail('kafkajs admin output differs:\n--- got ---\n%s\n--- stderr ---\n%s\n--- expected ---\n%s'
             % (r.stdout, r.stderr, KAFKAJS_ADMIN_EXPECTED))
    check(r.returncode == 0, 'kafkajs admin calls, resetOffsets included, answer as expected')


def case_kafkajs(server):
    """kafkajs 2.2.4 (npm): admin, idempotent producer, acks 0/1, offsets by time, group consumer."""
    env = kafkajs_env()
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
         'compression': case_compression, 'admin': case_admin,
         'kafkajs_admin': case_kafkajs_admin, 'static': case_static}


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
