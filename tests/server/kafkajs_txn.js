// kafkajs 2.2.4 transactions against `sluice serve`; run by transactions_test.py (case kafkajs).
// Usage: node kafkajs_txn.js HOST:PORT (with kafkajs in NODE_PATH)
// Commits, aborts, commits offsets inside a transaction, then reads the topic back with
// read_committed (kafkajs's default) and read_uncommitted; prints what it saw.
const { Kafka, logLevel } = require('kafkajs')
const kafka = new Kafka({ clientId: 'kjt', brokers: [process.argv[2]], logLevel: logLevel.NOTHING })

// Values of topic `kjt` from the beginning until the record 'end' (a committed sentinel).
async function readAll (readUncommitted) {
  const consumer = kafka.consumer({ groupId: `kjt-read-${readUncommitted}`, readUncommitted })
  await consumer.connect()
  await consumer.subscribe({ topic: 'kjt', fromBeginning: true })
  const got = []
  await new Promise((resolve, reject) => {
    consumer.run({
      eachMessage: async ({ message }) => {
        const v = message.value.toString()
        if (v === 'end') resolve(); else got.push(v)
      }
    }).catch(reject)
  })
  await consumer.disconnect()
  return got
}

;(async () => {
  const admin = kafka.admin(); await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'kjt', numPartitions: 1 }] })
  const producer = kafka.producer({ transactionalId: 'kjt-1', maxInFlightRequests: 1, idempotent: true })
  await producer.connect()
  for (const [values, commit] of [[['c1', 'c2'], true], [['a1', 'a2'], false], [['c3'], true]]) {
    const t = await producer.transaction()
    await t.send({ topic: 'kjt', messages: values.map(value => ({ value, partition: 0 })) })
    if (commit) await t.commit(); else await t.abort()
  }
  // Offsets of a group committed with the transaction's records, and not with an aborted one.
  let t = await producer.transaction()
  await t.send({ topic: 'kjt', messages: [{ value: 'c4', partition: 0 }] })
  await t.sendOffsets({ consumerGroupId: 'kjt-g', topics: [{ topic: 'kjt', partitions: [{ partition: 0, offset: '2' }] }] })
  await t.commit()
  t = await producer.transaction()
  await t.send({ topic: 'kjt', messages: [{ value: 'a3', partition: 0 }] })
  await t.sendOffsets({ consumerGroupId: 'kjt-g', topics: [{ topic: 'kjt', partitions: [{ partition: 0, offset: '5' }] }] })
  await t.abort()
  t = await producer.transaction()
  await t.send({ topic: 'kjt', messages: [{ value: 'end', partition: 0 }] })
  await t.commit()
  console.log('read_committed', (await readAll(false)).join(' '))
  console.log('read_uncommitted', (await readAll(true)).join(' '))
  console.log('group offset', (await admin.fetchOffsets({ groupId: 'kjt-g', topics: ['kjt'] }))[0].partitions.map(x => `${x.partition}:${x.offset}`).join(' '))
  await producer.disconnect(); await admin.disconnect()
})().catch(e => { console.error('ERR', e); process.exit(1) })
