"""The metrics data path: Locust's request event (`request_tap`) into the store (`store`, on the
hot path), shipped from workers to the master (`wire`), turned into families at scrape time
(`collectors`), rendered (`exposition`) and served (`server`); `exporter` wires them per runner."""
