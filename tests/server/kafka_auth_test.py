#!/usr/bin/python3
"""TLS, SASL and permissions of `sluice serve` with real clients, all on 127.0.0.1.

Run by ctest with Debian's /usr/bin/python3 (python3-kafka, python3-confluent-kafka),
/usr/bin/kcat and the openssl CLI (certificates are made per run):
  kafka_auth_test.py --sluice PATH --case NAME
Cases:
  clients     kcat, confluent-kafka and kafka-python produce and consume over SASL_SSL with PLAIN,
              SCRAM-SHA-256 and SCRAM-SHA-512
  password    a wrong password: each client shows the SASL authentication error; one log line
  expired     an expired server certificate: the client refuses the handshake; one log line
  other_ca    client certificates required, one from another CA: refused; one log line
  permission  a user without write/read/group permission: Kafka's authorization errors; log lines
  insecure    listening on a non-loopback address without SASL needs --insecure
Issue 16, section 'Authentication and TLS' (reliability-scenarios F4): clients covers the
clients over SASL_SSL, password the wrong password, expired and other_ca the expired or wrong
certificate, permission and txn_permission the missing permission (tests/README.md).
"""
import argparse, os, subprocess, sys, tempfile, time, uuid

sys.dont_write_bytecode = True  # importing the sibling script must not litter the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kafka_clients_test as base  # Server, check, fail
from kafka_clients_test import Server, check, fail

KCAT = '/usr/bin/kcat'
MECHS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512']


def openssl(*args, cwd):
    subprocess.run(['openssl'] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(d, name):
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', name + '.key', '-out',
            name + '.pem', '-days', '2', '-subj', '/CN=' + name, cwd=d)


def make_cert(d, ca, name, days='2'):
    """A certificate for 127.0.0.1 signed by `ca`; days '-1' makes it expired."""
    with open(os.path.join(d, 'san.ext'), 'w') as f:
        f.write('subjectAltName=IP:127.0.0.1\n')
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', name + '.key', '-out',
            name + '.csr', '-subj', '/CN=127.0.0.1', cwd=d)
    openssl('x509', '-req', '-in', name + '.csr', '-CA', ca + '.pem', '-CAkey', ca + '.key',
            '-CAcreateserial', '-out', name + '.pem', '-days', days, '-extfile', 'san.ext', cwd=d)


def sluice(*args, stdin=None, timeout=60):
    try:
        return subprocess.run([ARGS.sluice] + list(args), input=stdin, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        fail('sluice %s did not exit within %d s' % (' '.join(args), timeout))


def first(text, last=False):
    """The first (or last) line of a client's stderr, '' if it printed nothing."""
    lines = text.strip().splitlines()
    return (lines[-1] if last else lines[0]) if lines else ''


def add_user(data, name, password, *grants):
    r = sluice('user', 'add', name, '--password-stdin', '--data', data, stdin=password + '\n')
    check(r.returncode == 0, 'sluice user add %s' % name)
    for g in grants:
        r = sluice('user', 'grant', name, '--data', data, *g)
        check(r.returncode == 0, 'sluice user grant %s %s' % (name, ' '.join(g)))


class Setup:
    def __init__(self, tmp, server_cert='server', client_auth=None):
        self.tmp = tmp
        self.certs = os.path.join(tmp, 'certs')
        os.makedirs(self.certs, exist_ok=True)
        make_ca(self.certs, 'ca')
        make_cert(self.certs, 'ca', 'server')
        self.data = os.path.join(tmp, 'data')
        add_user(self.data, 'alice', 'alice-secret', ['--topic-prefix', '*', '--read', '--write',
                                                      '--admin'], ['--group-prefix', '*', '--read'])
        args = ['--security-protocol', 'SASL_SSL', '--tls-cert', self.path(server_cert + '.pem'),
                '--tls-key', self.path(server_cert + '.key')]
        if client_auth:
            args += ['--tls-ca', self.path('ca.pem'), '--tls-client-auth', client_auth]
        self.server = Server(self.data, args)

    def path(self, name):
        return os.path.join(self.certs, name)

    def kcat(self, mech, user, password, *args, stdin=None, extra=()):
        cmd = [KCAT, '-b', self.server.broker, '-X', 'security.protocol=SASL_SSL', '-X',
               'ssl.ca.location=' + self.path('ca.pem'), '-X', 'sasl.mechanisms=' + mech, '-X',
               'sasl.username=' + user, '-X', 'sasl.password=' + password] + list(extra)
        return subprocess.run(cmd + list(args), input=stdin, capture_output=True, text=True,
                              timeout=30)

    def ck_conf(self, mech, user, password):
        return {'bootstrap.servers': self.server.broker, 'security.protocol': 'SASL_SSL',
                'ssl.ca.location': self.path('ca.pem'), 'sasl.mechanisms': mech,
                'sasl.username': user, 'sasl.password': password}

    def kp_conf(self, mech, user, password):
        return dict(bootstrap_servers=self.server.broker, security_protocol='SASL_SSL',
                    ssl_cafile=self.path('ca.pem'), sasl_mechanism=mech,
                    sasl_plain_username=user, sasl_plain_password=password)


def ck_produce(conf, topic, values):
    """confluent-kafka: returns the delivery errors (empty list = all delivered)."""
    from confluent_kafka import Producer
    errors = []
    p = Producer(dict(conf, **{'message.timeout.ms': 10000}))
    for v in values:
        p.produce(topic, v.encode(), callback=lambda err, msg: errors.append(err) if err else None)
    p.flush(20)
    return errors


def ck_consume(conf, topic, group, n):
    from confluent_kafka import Consumer
    c = Consumer(dict(conf, **{'group.id': group, 'auto.offset.reset': 'earliest'}))
    c.subscribe([topic])
    got, errors = [], []
    deadline = time.time() + 30
    while len(got) < n and time.time() < deadline and not errors:
        m = c.poll(0.5)
        if m is None:
            continue
        if m.error():
            errors.append(m.error())
        else:
            got.append(m.value().decode())
    if not errors:
        c.commit(asynchronous=False)
    c.close()
    return got, errors


def case_clients(s):
    s.server.start()
    for mech in MECHS:
        topic = 't-' + mech.lower()
        values = ['%s-%d' % (mech, i) for i in range(5)]
        r = s.kcat(mech, 'alice', 'alice-secret', '-P', '-t', topic, stdin='\n'.join(values) + '\n')
        check(r.returncode == 0 and 'error' not in r.stderr.lower(),
              'kcat produced over SASL_SSL with %s' % mech)
        errs = ck_produce(s.ck_conf(mech, 'alice', 'alice-secret'), topic,
                          ['ck-' + v for v in values])
        check(not errs, 'confluent-kafka produced over SASL_SSL with %s (%s)' % (mech, errs))
        from kafka import KafkaProducer, KafkaConsumer
        p = KafkaProducer(**s.kp_conf(mech, 'alice', 'alice-secret'))
        for v in values:
            p.send(topic, ('kp-' + v).encode()).get(timeout=20)
        p.close()
        check(True, 'kafka-python produced over SASL_SSL with %s' % mech)
        want = values + ['ck-' + v for v in values] + ['kp-' + v for v in values]
        r = s.kcat(mech, 'alice', 'alice-secret', '-C', '-t', topic, '-o', 'beginning', '-e')
        check(r.stdout.split() == want, 'kcat consumed all 15 records with %s' % mech)
        got, errs = ck_consume(s.ck_conf(mech, 'alice', 'alice-secret'), topic, 'g-' + mech, 15)
        check(got == want and not errs, 'confluent-kafka group consumer read all 15 with %s' % mech)
        c = KafkaConsumer(topic, group_id='kp-' + mech, auto_offset_reset='earliest',
                          consumer_timeout_ms=10000, **s.kp_conf(mech, 'alice', 'alice-secret'))
        got = []
        for m in c:
            got.append(m.value.decode())
            if len(got) == len(want):
                break
        c.commit()
        c.close()
        check(got == want, 'kafka-python group consumer read all 15 with %s' % mech)
    bad = [l for l in s.server.logtext().splitlines()
           if 'SASL authentication' in l or 'not permitted' in l or 'before SASL' in l]
    check(not bad, 'no refused login or request in the server log %s' % bad)
    s.server.stop()


def case_password(s):
    s.server.start()
    for mech in MECHS:
        r = s.kcat(mech, 'alice', 'wrong', '-L')
        check(r.returncode != 0 and 'Authentication failed' in r.stderr,
              'kcat with a wrong %s password: %s' % (mech, first(r.stderr)))
    from confluent_kafka import Producer, KafkaError as CkError
    seen = []
    p = Producer(dict(s.ck_conf('SCRAM-SHA-512', 'alice', 'wrong'), error_cb=seen.append))
    deadline = time.time() + 20
    while time.time() < deadline and not any(e.code() == CkError._AUTHENTICATION for e in seen):
        p.poll(0.2)
    auth = [e for e in seen if e.code() == CkError._AUTHENTICATION]
    check(auth and 'Authentication failed' in auth[0].str(),
          'confluent-kafka with a wrong password: %s' % (auth[0].str() if auth else seen))
    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    try:
        KafkaProducer(**s.kp_conf('SCRAM-SHA-256', 'alice', 'wrong'))
        fail('kafka-python connected with a wrong password')
    except KafkaError as e:
        check(True, 'kafka-python with a wrong password fails: %r' % e)
    log = s.server.logtext()
    for mech in MECHS:
        check('SASL authentication with %s failed' % mech in log,
              'server logged the failed %s login' % mech)
    check('SCRAM: invalid credentials' in log and "PLAIN: invalid credentials for user 'alice'" in log,
          'server log says the credentials were invalid')
    s.server.stop()


def case_expired(s):
    s.server.start()
    r = s.kcat('SCRAM-SHA-256', 'alice', 'alice-secret', '-L')
    check(r.returncode != 0 and 'certificate verify failed' in r.stderr,
          'kcat refuses the expired server certificate: %s' % first(r.stderr))
    from kafka import KafkaProducer
    from kafka.errors import KafkaError
    try:
        KafkaProducer(**s.kp_conf('SCRAM-SHA-256', 'alice', 'alice-secret'))
        fail('kafka-python accepted an expired server certificate')
    except Exception as e:  # ssl.SSLCertVerificationError from the handshake
        check('certificate has expired' in str(e), 'kafka-python refuses it: %s' % e)
    log = s.server.logtext()
    check('TLS handshake failed' in log and 'certificate expired' in log,
          'server logged the refused handshake: %s' % log.strip().splitlines()[-1])
    s.server.stop()


def case_other_ca(s):
    make_ca(s.certs, 'other')
    make_cert(s.certs, 'other', 'stranger')
    make_cert(s.certs, 'ca', 'friend')
    s.server.start()
    good = ['-X', 'ssl.certificate.location=' + s.path('friend.pem'), '-X',
            'ssl.key.location=' + s.path('friend.key')]
    r = s.kcat('SCRAM-SHA-256', 'alice', 'alice-secret', '-L', extra=good)
    check(r.returncode == 0 and 'broker 1 at' in r.stdout,
          'kcat with a certificate from the server\'s CA is served')
    bad = ['-X', 'ssl.certificate.location=' + s.path('stranger.pem'), '-X',
           'ssl.key.location=' + s.path('stranger.key')]
    r = s.kcat('SCRAM-SHA-256', 'alice', 'alice-secret', '-L', extra=bad)
    check(r.returncode != 0 and ('SSL' in r.stderr or 'ssl' in r.stderr),
          'kcat with a certificate from another CA is refused: %s' % first(r.stderr))
    r = s.kcat('SCRAM-SHA-256', 'alice', 'alice-secret', '-L')
    check(r.returncode != 0, 'kcat without a client certificate is refused')
    log = s.server.logtext()
    check('TLS handshake failed: certificate verify failed' in log,
          'server logged the unverifiable client certificate')
    check('peer did not return a certificate' in log, 'server logged the missing certificate')
    s.server.stop()


def case_permission(s):
    add_user(s.data, 'bob', 'bob-secret', ['--topic-prefix', 'clicks', '--read'],
             ['--group-prefix', 'dash', '--read'])
    s.server.start()
    r = s.kcat('SCRAM-SHA-256', 'alice', 'alice-secret', '-P', '-t', 'clicks', stdin='a\nb\n')
    r = s.kcat('SCRAM-SHA-256', 'alice', 'alice-secret', '-P', '-t', 'secret', stdin='x\n')
    check(r.returncode == 0, 'alice produced to clicks and secret')
    # Write denied.
    r = s.kcat('SCRAM-SHA-256', 'bob', 'bob-secret', '-P', '-t', 'clicks', stdin='c\n')
    check('Topic authorization failed' in r.stderr, 'kcat produce without write: %s' %
          first(r.stderr, last=True))
    errs = ck_produce(s.ck_conf('PLAIN', 'bob', 'bob-secret'), 'clicks', ['c'])
    check(len(errs) == 1 and errs[0].name() == 'TOPIC_AUTHORIZATION_FAILED',
          'confluent-kafka produce without write: %s' % errs)
    from kafka import KafkaProducer, KafkaConsumer
    from kafka.errors import TopicAuthorizationFailedError, KafkaError
    p = KafkaProducer(retries=0, **s.kp_conf('SCRAM-SHA-512', 'bob', 'bob-secret'))
    try:
        p.send('clicks', b'c').get(timeout=20)
        fail('kafka-python produced without write permission')
    except KafkaError as e:
        check(isinstance(e, TopicAuthorizationFailedError) or 'TopicAuthorizationFailed' in repr(e),
              'kafka-python produce without write: %r' % e)
    p.close()
    # Read allowed on clicks, denied on secret; group allowed only under dash.
    got, errs = ck_consume(s.ck_conf('SCRAM-SHA-256', 'bob', 'bob-secret'), 'clicks', 'dash-1', 2)
    check(got == ['a', 'b'] and not errs, 'bob reads clicks in group dash-1')
    got, errs = ck_consume(s.ck_conf('SCRAM-SHA-256', 'bob', 'bob-secret'), 'clicks', 'other', 2)
    check(errs and errs[0].name() == 'GROUP_AUTHORIZATION_FAILED',
          'confluent-kafka in group "other" without permission: %s' % errs)
    r = s.kcat('SCRAM-SHA-256', 'bob', 'bob-secret', '-C', '-t', 'secret', '-o', 'beginning', '-e')
    check('Topic authorization failed' in r.stderr, 'kcat consume without read: %s' %
          first(r.stderr, last=True))
    r = s.kcat('SCRAM-SHA-256', 'bob', 'bob-secret', '-L')
    check(' topic "clicks"' in r.stdout and 'secret' not in r.stdout,
          'Metadata lists clicks but not secret to bob')
    log = s.server.logtext()
    check("principal 'bob' is not permitted Produce" in log and "topic 'clicks'" in log,
          'server logged the refused Produce (principal, API, topic)')
    check("principal 'bob' is not permitted FindCoordinator" in log or
          "principal 'bob' is not permitted JoinGroup" in log, 'server logged the refused group')
    check("principal 'bob' is not permitted Metadata" in log and "topic 'secret'" in log,
          'server logged the refused topic')
    s.server.stop()


def case_txn_permission(s):
    """Transactions under SASL (issue 16): write on the transactional id for every transaction
    API, write on the topics a transaction adds, read on the group whose offsets it commits."""
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
    add_user(s.data, 'noid', 'noid-secret', ['--topic-prefix', 'tx', '--read', '--write'])
    add_user(s.data, 'nowrite', 'nowrite-secret', ['--topic-prefix', 'tx', '--read'],
             ['--transactional-id-prefix', 'app-', '--write'])
    add_user(s.data, 'nogroup', 'nogroup-secret', ['--topic-prefix', 'tx', '--read', '--write'],
             ['--transactional-id-prefix', 'app-', '--write'], ['--group-prefix', 'mine', '--read'])
    r = sluice('user', 'grant', 'nogroup', '--data', s.data, '--transactional-id-prefix', 'x',
               '--read')
    check(r.returncode != 0 and '--write' in r.stderr,
          'transactional ids take --write only: %s' % first(r.stderr))
    s.server.start()
    r = s.kcat('PLAIN', 'alice', 'alice-secret', '-P', '-t', 'tx', stdin='plain\n')
    check(r.returncode == 0, 'alice created tx')

    def producer(user, tid):
        return Producer(dict(s.ck_conf('PLAIN', user, user + '-secret'),
                             **{'transactional.id': tid, 'linger.ms': 1}))

    def error_name(e):
        return e.args[0].name() if e.args and hasattr(e.args[0], 'name') else repr(e)

    # No permission on the transactional id: InitProducerId (after FindCoordinator) is refused.
    p = producer('noid', 'app-1')
    try:
        p.init_transactions(20)
        fail('init_transactions without write on the transactional id succeeded')
    except KafkaException as e:
        check(error_name(e) == 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
              'noid: init_transactions refused: %s' % e.args[0])
    # The id, but no write on the topic: AddPartitionsToTxn refuses it.
    p = producer('nowrite', 'app-2')
    p.init_transactions(20)
    p.begin_transaction()
    p.produce('tx', b'denied', partition=0)
    try:
        p.commit_transaction(20)
        fail('a transaction wrote to a topic without write permission')
    except KafkaException as e:
        check('TOPIC_AUTHORIZATION_FAILED' in str(e.args[0]) or
              error_name(e) == 'TOPIC_AUTHORIZATION_FAILED',
              'nowrite: the transaction is refused the topic: %s' % e.args[0])
    # Id and topic, but not the group: AddOffsetsToTxn refuses the offsets.
    c = Consumer(dict(s.ck_conf('PLAIN', 'nogroup', 'nogroup-secret'),
                      **{'group.id': 'mine-1', 'enable.auto.commit': False}))
    p = producer('nogroup', 'app-3')
    p.init_transactions(20)
    p.begin_transaction()
    p.produce('tx', b'ok', partition=0)
    meta = Consumer(dict(s.ck_conf('PLAIN', 'nogroup', 'nogroup-secret'),
                         **{'group.id': 'theirs'})).consumer_group_metadata()
    try:
        p.send_offsets_to_transaction([TopicPartition('tx', 0, 1)], meta, 20)
        fail('offsets of a group without read permission joined a transaction')
    except KafkaException as e:
        check(error_name(e) == 'GROUP_AUTHORIZATION_FAILED' or
              'GROUP_AUTHORIZATION_FAILED' in str(e.args[0]),
              'nogroup: the offsets of group "theirs" are refused: %s' % e.args[0])
    # With every permission the same producer commits records and offsets.
    p = producer('nogroup', 'app-4')
    p.init_transactions(20)
    p.begin_transaction()
    p.produce('tx', b'committed', partition=0)
    p.send_offsets_to_transaction([TopicPartition('tx', 0, 1)], c.consumer_group_metadata(), 20)
    p.commit_transaction(20)
    c.close()
    log = s.server.logtext()
    for what in ("InitProducerId", "AddPartitionsToTxn", "AddOffsetsToTxn"):
        check("not permitted %s" % what in log or
              (what == 'InitProducerId' and "not permitted FindCoordinator" in log),
              'server logged the refused %s' % what)
    check('TRANSACTIONAL_ID_AUTHORIZATION_FAILED' in log, 'the log names the error')
    s.server.stop()


def case_insecure(tmp):
    data = os.path.join(tmp, 'data')
    r = sluice('serve', '--data', data, '--listen', '0.0.0.0:0', timeout=10)
    check(r.returncode == 2 and '--insecure' in r.stderr,
          'serve --listen 0.0.0.0 without SASL is a usage error: %s' % r.stderr.strip())
    r = sluice('serve', '--data', data, '--listen', '0.0.0.0:0', '--security-protocol', 'SASL_SSL',
               '--tls-cert', 'x', '--tls-key', 'y')
    check(r.returncode == 2 and 'sluice user add' in r.stderr,
          'serve with SASL and no users says to add one: %s' % r.stderr.strip())


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument('--sluice', required=True)
    ap.add_argument('--case', required=True)
    ARGS = ap.parse_args()
    base.ARGS = ARGS
    with tempfile.TemporaryDirectory() as tmp:
        c = ARGS.case
        if c == 'insecure':
            case_insecure(tmp)
            print('PASS', ARGS.case)
            return
        cases = {'clients': (case_clients, {}), 'password': (case_password, {}),
                 'expired': (case_expired, {'server_cert': 'expired'}),
                 'other_ca': (case_other_ca, {'client_auth': 'required'}),
                 'permission': (case_permission, {}),
                 'txn_permission': (case_txn_permission, {})}
        if c not in cases:
            fail('unknown case ' + c)
        run, options = cases[c]
        s = Setup(tmp, **options)
        if c == 'expired':
            make_cert(s.certs, 'ca', 'expired', days='-1')
        try:
            run(s)
        finally:
            # A failed check exits through here: never leave the server running.
            if s.server.proc is not None and s.server.proc.poll() is None:
                s.server.proc.kill()
                s.server.proc.wait()
    print('PASS', ARGS.case)


if __name__ == '__main__':
    main()
