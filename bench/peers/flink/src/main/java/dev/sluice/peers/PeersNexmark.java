package dev.sluice.peers;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.connector.file.src.reader.TextLineInputFormat;
import org.apache.flink.core.fs.Path;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/**
 * NEXMark q1, q5 and q7 of bench/peers/run.sh on Flink 2.3's local mini-cluster (DataStream API),
 * over the bids that `sluice gen nexmark` wrote, read from a file of JSON lines (one bid per line,
 * in event-time order) with the file source. The queries are the ones examples/nexmark_queries.h
 * describes for `sluice run nexmark`:
 *
 * <ul>
 *   <li>q1: every bid re-encoded as {"auction","bidder","price" (euros = 0.908 * dollars),
 *       "date_time"};
 *   <li>q5: per 10-second window sliding every 2 seconds, the auction with the most bids (ties:
 *       the smaller auction id as text): {"window_start","window_end","auction","bids"};
 *   <li>q7: the highest bid per 10-second tumbling window (ties: smaller auction, then bidder,
 *       then date_time): {"window_start","window_end","auction","bidder","price","date_time"}.
 * </ul>
 *
 * Event time is the bid's date_time, watermarks are monotonous (the file is in event-time order);
 * at the end of the file every window fires, as Sluice's --until-end closes them.
 *
 * <pre>PeersNexmark QUERY FILE PARALLELISM EXPECTED_RESULTS SMALL_FILE SMALL_EXPECTED</pre>
 *
 * Runs the query twice over FILE in this JVM: once to warm it up, once timed (env.execute() of a
 * fresh job, mini-cluster start included), then once over SMALL_FILE (a few bids), timed: what a
 * job costs whatever its input (mini-cluster start, deployment, shutdown). Each run must write
 * exactly the expected number of results (counted by the sink) or it exits 1. Prints
 * seconds=S cpu_s=C results=N small_seconds=S2 small_cpu_s=C2, cpu_s being this JVM's CPU time.
 */
public final class PeersNexmark {
  static final AtomicLong RESULTS = new AtomicLong();

  /** The bid fields the three queries use, parsed from the generator's JSON. */
  public static final class Bid {
    public long auction;
    public long bidder;
    public long price;
    public long dateTime;

    public Bid() {}

    static long field(String json, String name) {
      String key = "\"" + name + "\":";
      int i = json.indexOf(key);
      if (i < 0) throw new IllegalArgumentException("no " + name + " in " + json);
      i += key.length();
      int j = i;
      while (j < json.length() && (Character.isDigit(json.charAt(j)) || json.charAt(j) == '-')) ++j;
      return Long.parseLong(json, i, j, 10);
    }

    static Bid parse(String json) {
      Bid b = new Bid();
      b.auction = field(json, "auction");
      b.bidder = field(json, "bidder");
      b.price = field(json, "price");
      b.dateTime = field(json, "date_time");
      return b;
    }

    /** q7's order: higher price, then smaller auction, bidder, date_time. */
    static boolean before(Bid a, Bid b) {
      if (a.price != b.price) return a.price > b.price;
      if (a.auction != b.auction) return a.auction < b.auction;
      if (a.bidder != b.bidder) return a.bidder < b.bidder;
      return a.dateTime < b.dateTime;
    }
  }

  /** One auction's bid count in one window (q5's first stage). */
  public static final class AuctionCount {
    public long auction;
    public long bids;
    public long windowStart;
    public long windowEnd;

    public AuctionCount() {}

    AuctionCount(long auction, long bids, long windowStart, long windowEnd) {
      this.auction = auction;
      this.bids = bids;
      this.windowStart = windowStart;
      this.windowEnd = windowEnd;
    }

    /** True if this one is hotter than o (more bids; ties: smaller auction id as text). */
    boolean hotterThan(AuctionCount o) {
      if (bids != o.bids) return bids > o.bids;
      return Long.toString(auction).compareTo(Long.toString(o.auction)) < 0;
    }
  }

  /** Counts what it receives; every result of every query ends here. */
  static final class CountingSink implements Sink<String> {
    @Override
    public SinkWriter<String> createWriter(WriterInitContext context) {
      return new SinkWriter<>() {
        long n;

        @Override
        public void write(String element, Context context) {
          if (!element.isEmpty()) ++n;
        }

        @Override
        public void flush(boolean endOfInput) {
          RESULTS.addAndGet(n);
          n = 0;
        }

        @Override
        public void close() {
          RESULTS.addAndGet(n);
          n = 0;
        }
      };
    }
  }

  static final class CountBids implements AggregateFunction<Bid, Long, Long> {
    @Override
    public Long createAccumulator() {
      return 0L;
    }

    @Override
    public Long add(Bid value, Long acc) {
      return acc + 1;
    }

    @Override
    public Long getResult(Long acc) {
      return acc;
    }

    @Override
    public Long merge(Long a, Long b) {
      return a + b;
    }
  }

  static final class WithWindow extends ProcessWindowFunction<Long, AuctionCount, Long, TimeWindow> {
    @Override
    public void process(Long auction, Context ctx, Iterable<Long> counts, Collector<AuctionCount> out) {
      out.collect(new AuctionCount(auction, counts.iterator().next(), ctx.window().getStart(),
          ctx.window().getEnd()));
    }
  }

  /** q5's second stage: per window, the hottest auction, emitted when the window's time passes. */
  static final class Hottest extends KeyedProcessFunction<Long, AuctionCount, String> {
    private transient ValueState<AuctionCount> best;

    @Override
    public void open(org.apache.flink.api.common.functions.OpenContext context) {
      best = getRuntimeContext().getState(new ValueStateDescriptor<>("best", AuctionCount.class));
    }

    @Override
    public void processElement(AuctionCount c, Context ctx, Collector<String> out) throws Exception {
      AuctionCount b = best.value();
      if (b == null) ctx.timerService().registerEventTimeTimer(c.windowEnd - 1);
      if (b == null || c.hotterThan(b)) best.update(c);
    }

    @Override
    public void onTimer(long ts, OnTimerContext ctx, Collector<String> out) throws Exception {
      AuctionCount b = best.value();
      out.collect(String.format(Locale.ROOT,
          "{\"window_start\":%d,\"window_end\":%d,\"auction\":%d,\"bids\":%d}", b.windowStart,
          b.windowEnd, b.auction, b.bids));
      best.clear();
    }
  }

  static final class HighestInWindow extends ProcessWindowFunction<Bid, String, Long, TimeWindow> {
    @Override
    public void process(Long key, Context ctx, Iterable<Bid> bids, Collector<String> out) {
      Bid b = bids.iterator().next();
      out.collect(String.format(Locale.ROOT,
          "{\"window_start\":%d,\"window_end\":%d,\"auction\":%d,\"bidder\":%d,\"price\":%d,"
              + "\"date_time\":%d}",
          ctx.window().getStart(), ctx.window().getEnd(), b.auction, b.bidder, b.price,
          b.dateTime));
    }
  }

  static void build(StreamExecutionEnvironment env, String query, String file) {
    FileSource<String> source =
        FileSource.forRecordStreamFormat(new TextLineInputFormat(), new Path(file)).build();
    WatermarkStrategy<String> ws = WatermarkStrategy.<String>forMonotonousTimestamps()
        .withTimestampAssigner((line, ts) -> Bid.field(line, "date_time"));
    DataStream<Bid> bids = env.fromSource(source, ws, "bids").map(Bid::parse).name("parse");
    DataStream<String> results;
    switch (query) {
      case "q1":
        results = bids.map(b -> String.format(Locale.ROOT,
            "{\"auction\":%d,\"bidder\":%d,\"price\":%s,\"date_time\":%d}", b.auction, b.bidder,
            Double.toString(0.908 * b.price), b.dateTime)).name("q1");
        break;
      case "q5":
        results = bids.keyBy(b -> b.auction)
            .window(SlidingEventTimeWindows.of(Duration.ofSeconds(10), Duration.ofSeconds(2)))
            .aggregate(new CountBids(), new WithWindow())
            .keyBy(c -> c.windowStart)
            .process(new Hottest())
            .name("q5");
        break;
      case "q7":
        results = bids.keyBy(b -> Math.floorDiv(b.dateTime, 10_000L))
            .window(TumblingEventTimeWindows.of(Duration.ofSeconds(10)))
            .reduce((a, b) -> Bid.before(b, a) ? b : a, new HighestInWindow())
            .name("q7");
        break;
      default:
        throw new IllegalArgumentException("query must be q1, q5 or q7, not " + query);
    }
    results.sinkTo(new CountingSink()).name("count");
  }

  public static void main(String[] args) throws Exception {
    if (args.length != 6) {
      System.err.println(
          "usage: PeersNexmark q1|q5|q7 FILE PARALLELISM EXPECTED_RESULTS SMALL_FILE SMALL_EXPECTED");
      System.exit(2);
    }
    String query = args[0];
    int parallelism = Integer.parseInt(args[2]);
    String[] files = {args[1], args[1], args[4]};
    long[] expected = {Long.parseLong(args[3]), Long.parseLong(args[3]), Long.parseLong(args[5])};
    com.sun.management.OperatingSystemMXBean os =
        (com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    double[] seconds = new double[3];
    double[] cpu = new double[3];
    for (int round = 0; round < 3; ++round) {
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
      env.setParallelism(parallelism);
      build(env, query, files[round]);
      RESULTS.set(0);
      long cpu0 = os.getProcessCpuTime();
      long t0 = System.nanoTime();
      env.execute("nexmark-" + query);
      seconds[round] = (System.nanoTime() - t0) / 1e9;
      cpu[round] = (os.getProcessCpuTime() - cpu0) / 1e9;
      if (RESULTS.get() != expected[round]) {
        System.err.printf(Locale.ROOT, "PeersNexmark: %s over %s wrote %d results; expected %d%n",
            query, files[round], RESULTS.get(), expected[round]);
        System.exit(1);
      }
    }
    System.out.printf(Locale.ROOT,
        "seconds=%.3f cpu_s=%.3f results=%d small_seconds=%.3f small_cpu_s=%.3f%n", seconds[1],
        cpu[1], expected[1], seconds[2], cpu[2]);
    System.exit(0);
  }
}
