// kafkajs 2.2.4 admin calls against `sluice serve`; run by kafka_clients_test.py (case
// kafkajs_admin). Usage: node kafkajs_admin.js HOST:PORT (with kafkajs in NODE_PATH)
const { Kafka, logLevel } = require('kafkajs')
const kafka = new Kafka({ clientId: 'kja', brokers: [process.argv[2]], logLevel: logLevel.NOTHING })
const sleep = ms => new Promise(res => setTimeout(res, ms))
;(async () => {
  const admin = kafka.admin(); await admin.connect()
  await admin.createTopics({ topics: [{ topic: 'ja', numPartitions: 2,
    configEntries: [{ name: 'segment.bytes', value: '1024' }] }] })
  const p = kafka.producer(); await p.connect()
  for (let i = 0; i < 10; i++) {
    await p.send({ topic: 'ja', messages: [0, 1].map(part => ({ value: 'v'.repeat(200) + i, partition: part })) })
  }
  await p.disconnect()
  const consume = async (label) => {
    const consumer = kafka.consumer({ groupId: 'jg' }); await consumer.connect()
    await consumer.subscribe({ topic: 'ja', fromBeginning: true })
    let n = 0
    await consumer.run({ eachMessage: async () => { n++ } })
    for (let i = 0; i < 100 && n < 20; i++) await sleep(100)
    await sleep(500)
    await consumer.disconnect()
    console.log(label, n)
  }
  const committed = async () => (await admin.fetchOffsets({ groupId: 'jg', topics: ['ja'] }))[0]
    .partitions.sort((a, b) => a.partition - b.partition).map(x => `${x.partition}:${x.offset}`).join(' ')
  await consume('consumed')
  console.log('committed', await committed())
  await admin.resetOffsets({ groupId: 'jg', topic: 'ja', earliest: true })
  console.log('after resetOffsets earliest', await committed())
  await consume('consumed again')
  const describe = async () => {
    const r = await admin.describeConfigs({ includeSynonyms: false,
      resources: [{ type: 2, name: 'ja', configNames: ['retention.ms', 'segment.bytes'] }] })
    return r.resources[0].configEntries.map(c => `${c.configName}=${c.configValue}`).sort().join(' ')
  }
  console.log('describeConfigs', await describe())
  await admin.alterConfigs({ validateOnly: false, resources: [{ type: 2, name: 'ja',
    configEntries: [{ name: 'retention.ms', value: '600000' }, { name: 'segment.bytes', value: '1024' }] }] })
  console.log('after alterConfigs', await describe())
  try {
    await admin.alterConfigs({ resources: [{ type: 2, name: 'ja', configEntries: [{ name: 'x.y', value: '1' }] }] })
    console.log('alterConfigs x.y accepted')
  } catch (e) { console.log('alterConfigs x.y', e.type) }
  await admin.deleteTopicRecords({ topic: 'ja', partitions: [{ partition: 0, offset: '6' }] })
  const low = (await admin.fetchTopicOffsets('ja')).find(o => o.partition === 0).low
  console.log('deleteTopicRecords low in 1..6', Number(low) >= 1 && Number(low) <= 6)
  console.log('deleteGroups', JSON.stringify(await admin.deleteGroups(['jg'])))
  try { await admin.deleteGroups(['nope']); console.log('deleteGroups nope accepted') }
  catch (e) { console.log('deleteGroups nope', e.groups.map(g => g.error.type).join(' ')) }
  await admin.disconnect()
})().catch(e => { console.error('ERR', e); process.exit(1) })
