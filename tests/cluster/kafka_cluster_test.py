#!/usr/bin/python3
"""A real 3-broker Apache Kafka cluster (scripts/kafka-cluster.sh) loses a broker mid-stream
and keeps every acknowledged record, exactly once and in order.

Run by ctest with Debian's /usr/bin/python3 (python3-kafka) and /usr/bin/kcat:
  kafka_cluster_test.py --script scripts/kafka-cluster.sh --producer PATH [--records N]
Steps: start the cluster on free loopback ports; check that every broker reports the promised
durability settings (RF 3, min.insync.replicas 2, ...); create topic 'acked' (3 partitions,
replication factor 3) with kafka-python's admin client; produce N records with acks=all and the
idempotent producer (librdkafka, the cluster_acked_producer helper, which prints every delivery
report); SIGKILL the leader of partition 0 after a third of them are acknowledged while the
rest are in flight; read the topic back with kcat and check that every acknowledged record is
there once, at the offset it was acknowledged at, and in order per partition; restart the
killed broker, wait until it is back in every partition's in-sync replicas and check the topic
again; stop the cluster and check that no broker is left and each shut down cleanly (without
the script's SIGKILL fallback, with Kafka's clean-shutdown marker). Every wait is bounded; on
failure the brokers are killed and the cluster's folder (logs) is kept.
"""
import argparse, json, os, random, shutil, socket, subprocess, sys, tempfile, threading, time

KCAT = '/usr/bin/kcat'
TOPIC = 'acked'
PARTITIONS = 3


class Failure(Exception):
    pass


def log(msg):
    print('[%6.1fs] %s' % (time.time() - T0, msg), flush=True)


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def ports_free(ports):
    for port in ports:
        s = socket.socket()
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(('127.0.0.1', port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def free_base_port(brokers):
    # The script uses BASE..BASE+N-1 for clients and BASE+100.. for the controllers. Below
    # Linux's ephemeral range (32768 and up), so no other test's client connection takes one
    # of them between this check and the brokers' bind.
    for _ in range(200):
        base = random.randrange(20000, 32768 - 100 - brokers)
        if ports_free([base + i for i in range(brokers)] + [base + 100 + i for i in range(brokers)]):
            return base
    raise Failure('found no free loopback ports')


class Cluster:
    def __init__(self, script, cluster_dir):
        self.script = script
        self.dir = cluster_dir
        self.bootstrap = None

    def run(self, *args, timeout=300):
        started = time.time()
        try:
            p = subprocess.run([self.script] + list(args) + ['--dir', self.dir],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure('kafka-cluster.sh %s did not finish within %ds' % (' '.join(args), timeout))
        log('kafka-cluster.sh %s: exit %d in %.1fs' % (' '.join(args), p.returncode,
                                                      time.time() - started))
        for line in p.stderr.splitlines():
            if 'SIGKILL' in line and args[0] == 'stop':
                raise Failure('stop did not shut every broker down cleanly: %s' % line)
        if p.returncode != 0:
            raise Failure('kafka-cluster.sh %s failed:\n%s%s' % (' '.join(args), p.stdout, p.stderr))
        return p.stdout

    def pids(self):
        """Pids of the JVMs whose command line names this cluster's folder."""
        out = []
        for pid in os.listdir('/proc'):
            if not pid.isdigit():
                continue
            try:
                with open('/proc/%s/cmdline' % pid, 'rb') as f:
                    cmd = f.read().decode(errors='replace')
            except OSError:
                continue
            if 'kafka.Kafka' in cmd and self.dir + '/' in cmd:
                out.append(int(pid))
        return out

    def kill_all(self):
        for pid in self.pids():
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass


def metadata(bootstrap):
    p = subprocess.run([KCAT, '-L', '-J', '-b', bootstrap, '-t', TOPIC, '-m', '10'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
    check(p.returncode == 0, 'kcat -L failed: %s' % p.stderr)
    return json.loads(p.stdout)


# The durability settings the script promises (issue 13: replication factor 3,
# min.insync.replicas 2), as the brokers report them.
PROMISED = {
    'default.replication.factor': '3',
    'min.insync.replicas': '2',
    'offsets.topic.replication.factor': '3',
    'transaction.state.log.replication.factor': '3',
    'transaction.state.log.min.isr': '2',
    'unclean.leader.election.enable': 'false',
    'auto.create.topics.enable': 'false',
}


def check_broker_configs(bootstrap):
    from kafka.admin import KafkaAdminClient, ConfigResource, ConfigResourceType
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(','), request_timeout_ms=30000)
    try:
        for broker in ('1', '2', '3'):
            res = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, broker)])
            entries = {e[0]: e[1] for e in res[0].resources[0][4]}
            wrong = {k: entries.get(k) for k, v in PROMISED.items() if entries.get(k) != v}
            check(not wrong, 'broker %s: %s, expected %s' %
                  (broker, wrong, {k: PROMISED[k] for k in wrong}))
    finally:
        admin.close()
    log('brokers 1-3 report %s' % ', '.join('%s=%s' % kv for kv in PROMISED.items()))


def create_topic(bootstrap):
    from kafka.admin import KafkaAdminClient, NewTopic
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(','), request_timeout_ms=30000)
    try:
        admin.create_topics([NewTopic(TOPIC, PARTITIONS, 3)], timeout_ms=30000)
    finally:
        admin.close()
    deadline = time.time() + 60
    while time.time() < deadline:
        topics = [t for t in metadata(bootstrap)['topics'] if t['topic'] == TOPIC]
        parts = topics[0]['partitions'] if topics and not topics[0].get('error') else []
        if len(parts) == PARTITIONS and all(len(p['isrs']) == 3 and p['leader'] >= 0 for p in parts):
            return parts
        time.sleep(0.5)
    raise Failure('topic %s did not get %d partitions with 3 in-sync replicas' % (TOPIC, PARTITIONS))


def produce_and_kill(cluster, producer, records, victim):
    """Runs the producer; kills broker `victim` once a third of the records are acknowledged.
    Returns ({(partition, offset): value}, [acked values in report order], producer output)."""
    proc = subprocess.Popen([producer, cluster.bootstrap, TOPIC, str(records), str(PARTITIONS)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    acks, order, lines, fails = {}, [], [], []
    killed = threading.Event()
    kill_error = []

    acked_at_kill = []

    def kill():
        try:
            cluster.run('kill-broker', str(victim), timeout=60)
            acked_at_kill.append(len(acks))
        except Failure as e:
            kill_error.append(str(e))
        killed.set()

    timer = threading.Timer(240, proc.kill)  # bounds the whole produce phase
    timer.start()
    try:
        for line in proc.stdout:
            lines.append(line.rstrip())
            f = line.split()
            if f and f[0] == 'ack':
                key = (int(f[1]), int(f[2]))
                check(key not in acks, 'offset %s acknowledged twice: %s and %s' % (key, acks.get(key), f[3]))
                acks[key] = f[3]
                order.append(f[3])
                if len(acks) == records // 3:
                    log('%d records acknowledged: SIGKILL broker %d' % (len(acks), victim))
                    threading.Thread(target=kill).start()
            elif f and f[0] == 'fail':
                fails.append(line.rstrip())
        rc = proc.wait(timeout=30)
    finally:
        timer.cancel()
        if proc.poll() is None:
            proc.kill()
    check(killed.wait(90), 'kill-broker did not finish')
    check(not kill_error, kill_error[0] if kill_error else '')
    tail = '\n'.join(lines[-5:])
    check(rc == 0, 'the producer exited with %s; last lines:\n%s' % (rc, tail))
    log('producer: %d acknowledged, %d failed; %d were acknowledged when the kill started, %d '
        'when the broker was gone' % (len(acks), len(fails), records // 3, acked_at_kill[0]))
    # The kill must hit a running stream, not its end.
    check(acked_at_kill[0] < records, 'the producer finished before broker %d was killed' % victim)
    # With replication factor 3 and min.insync.replicas=2 the loss of one broker must not make
    # any record fail: every one of them is acknowledged.
    check(not fails, 'records not acknowledged after one broker was killed:\n%s' % '\n'.join(fails[:10]))
    check(len(acks) == records, 'acknowledged %d of %d records' % (len(acks), records))
    return acks


def read_back(bootstrap, acks, records, what):
    p = subprocess.run([KCAT, '-C', '-b', bootstrap, '-t', TOPIC, '-o', 'beginning', '-e', '-q',
                        '-f', '%p %o %s\n'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=180)
    check(p.returncode == 0, 'kcat -C failed (%d): %s' % (p.returncode, p.stderr[-2000:]))
    seen = {}
    last_seq = {}
    for line in p.stdout.splitlines():
        part, off, value = line.split()
        part, off = int(part), int(off)
        seq = int(value[1:])
        check(value not in seen, '%s: record %s is in the topic twice (%s and %s)' %
              (what, value, seen.get(value), (part, off)))
        seen[value] = (part, off)
        check(seq % PARTITIONS == part, '%s: record %s in partition %d' % (what, value, part))
        check(seq > last_seq.get(part, -1), '%s: partition %d out of order: %s after v%08d' %
              (what, part, value, last_seq.get(part, -1)))
        last_seq[part] = seq
    missing = [(k, v) for k, v in acks.items() if seen.get(v) != k]
    check(not missing, '%s: %d acknowledged records are missing or at another offset, e.g. %s' %
          (what, len(missing), missing[:5]))
    check(len(seen) == len(acks), '%s: %d records in the topic, %d acknowledged' %
          (what, len(seen), len(acks)))
    log('%s: all %d acknowledged records read back once, in order per partition' % (what, len(seen)))


def wait_full_isr(bootstrap, victim):
    deadline = time.time() + 180
    while time.time() < deadline:
        parts = [t for t in metadata(bootstrap)['topics'] if t['topic'] == TOPIC][0]['partitions']
        if all(victim in [r['id'] for r in p['isrs']] for p in parts):
            return
        time.sleep(1)
    raise Failure('broker %d did not rejoin the in-sync replicas of every partition: %s' % (victim, parts))


def main():
    global T0
    T0 = time.time()
    ap = argparse.ArgumentParser()
    ap.add_argument('--script', required=True)
    ap.add_argument('--producer', required=True)
    ap.add_argument('--records', type=int, default=30000)
    args = ap.parse_args()
    cluster_dir = tempfile.mkdtemp(prefix='sluice-kafka-cluster-test-')
    cluster = Cluster(os.path.abspath(args.script), cluster_dir)
    ok = False
    try:
        base = free_base_port(3)
        out = cluster.run('start', '--brokers', '3', '--base-port', str(base), timeout=600)
        cluster.bootstrap = out.strip().splitlines()[-1]
        expected = ','.join('127.0.0.1:%d' % (base + i) for i in range(3))
        check(cluster.bootstrap == expected, 'start printed %r, expected %r' % (cluster.bootstrap, expected))
        check(len(cluster.pids()) == 3, 'expected 3 broker JVMs, found %s' % cluster.pids())
        check_broker_configs(cluster.bootstrap)
        parts = create_topic(cluster.bootstrap)
        victim = [p['leader'] for p in parts if p['partition'] == 0][0]
        log('topic %s: leaders %s; the victim is broker %d (leader of partition 0)' %
            (TOPIC, {p['partition']: p['leader'] for p in parts}, victim))

        acks = produce_and_kill(cluster, args.producer, args.records, victim)
        check(len(cluster.pids()) == 2, 'expected 2 broker JVMs after the kill, found %s' % cluster.pids())
        read_back(cluster.bootstrap, acks, args.records, 'with broker %d down' % victim)

        cluster.run('restart-broker', str(victim), timeout=300)
        wait_full_isr(cluster.bootstrap, victim)
        log('broker %d is back in the in-sync replicas of every partition' % victim)
        read_back(cluster.bootstrap, acks, args.records, 'after broker %d restarted' % victim)

        cluster.run('stop', timeout=180)
        check(not cluster.pids(), 'brokers still running after stop: %s' % cluster.pids())
        # A clean shutdown leaves Kafka's marker in each data folder (the next start skips
        # log recovery); SIGKILL leaves none.
        for n in range(1, 4):
            marker = os.path.join(cluster_dir, 'node%d' % n, 'data', '.kafka_cleanshutdown')
            check(os.path.exists(marker), 'node %d did not shut down cleanly (no %s)' % (n, marker))
        log('every broker shut down cleanly')
        ok = True
    except (Failure, subprocess.TimeoutExpired) as e:
        print('FAIL:', e, flush=True)
    finally:
        if cluster.pids():
            subprocess.run([cluster.script, 'stop', '--dir', cluster_dir],
                           env=dict(os.environ, SLUICE_KAFKA_STOP_TIMEOUT='20'), timeout=60,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            cluster.kill_all()
    if ok:
        shutil.rmtree(cluster_dir, ignore_errors=True)
        log('PASS')
        return 0
    for n in range(1, 4):
        logf = os.path.join(cluster_dir, 'node%d' % n, 'logs', 'server.log')
        if os.path.exists(logf):
            with open(logf, errors='replace') as f:
                print('--- last lines of %s' % logf + '\n' + ''.join(f.readlines()[-10:]))
    print('the cluster folder (logs) is kept in', cluster_dir)
    return 1


if __name__ == '__main__':
    sys.exit(main())
