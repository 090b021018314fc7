//! The vocabulary of realistic values (domains, countries, sizes, …) and weighted picking.

use rand::Rng;
use rand::rngs::StdRng;

/// Picks one item with probability proportional to its weight.
pub(crate) fn pick<T: Copy>(rng: &mut StdRng, items: &[(T, u32)]) -> T {
    let total: u32 = items.iter().map(|(_, w)| *w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (item, weight) in items {
        if roll < *weight {
            return *item;
        }
        roll -= weight;
    }
    items[0].0
}

/// Picks one item uniformly.
pub(crate) fn one<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// Publisher domains, most popular first.
pub(crate) const DOMAINS: &[&str] = &[
    "news.example.com",
    "weather.example.org",
    "sportsdaily.example.net",
    "recipes.example.com",
    "techcrunchy.example.io",
    "travelnotes.example.com",
    "financetoday.example.com",
    "gamezone.example.net",
    "healthwise.example.org",
    "autoblog.example.com",
    "moviebuzz.example.com",
    "parenting.example.org",
    "fashionista.example.com",
    "diyhome.example.net",
    "musicfeed.example.io",
    "localnews.example.co.uk",
    "nachrichten.example.de",
    "actualites.example.fr",
    "noticias.example.es",
    "jornal.example.com.br",
];

/// Site sections used in page URLs.
pub(crate) const SECTIONS: &[&str] = &[
    "world", "sports", "tech", "food", "travel", "money", "games", "health", "style", "home",
];

/// Countries of users, with weights.
pub(crate) const COUNTRIES: &[(&str, u32)] = &[
    ("US", 40),
    ("GB", 9),
    ("DE", 8),
    ("FR", 7),
    ("IN", 8),
    ("BR", 6),
    ("JP", 5),
    ("CA", 5),
    ("AU", 4),
    ("ES", 3),
    ("IT", 3),
    ("MX", 2),
];

/// The currency most used for a country.
pub(crate) fn currency_of(country: &str) -> &'static str {
    match country {
        "GB" => "GBP",
        "DE" | "FR" | "ES" | "IT" => "EUR",
        "JP" => "JPY",
        _ => "USD",
    }
}

/// Ad formats with weights.
pub(crate) const AD_FORMATS: &[(&str, u32)] =
    &[("BANNER", 60), ("VIDEO", 20), ("NATIVE", 15), ("AUDIO", 5)];

/// Device types with weights.
pub(crate) const DEVICE_TYPES: &[(&str, u32)] = &[
    ("MOBILE", 55),
    ("DESKTOP", 30),
    ("TABLET", 8),
    ("CTV", 5),
    ("OTHER", 2),
];

/// Operating systems seen on a device type.
pub(crate) fn oses_of(device_type: &str) -> &'static [&'static str] {
    match device_type {
        "MOBILE" | "TABLET" => &["iOS", "Android"],
        "DESKTOP" => &["Windows", "macOS", "Linux"],
        "CTV" => &["tvOS", "Roku OS", "Android TV"],
        _ => &["Other"],
    }
}

/// Banner sizes (width, height).
pub(crate) const BANNER_SIZES: &[((i64, i64), u32)] = &[
    ((300, 250), 40),
    ((728, 90), 20),
    ((320, 50), 25),
    ((160, 600), 5),
    ((300, 600), 5),
    ((970, 250), 5),
];

/// Video player sizes (width, height).
pub(crate) const VIDEO_SIZES: &[(i64, i64)] = &[(640, 480), (1280, 720), (1920, 1080)];

/// IAB content categories.
pub(crate) const CATEGORIES: &[&str] = &[
    "IAB1", "IAB1-2", "IAB2", "IAB3-1", "IAB7", "IAB8-5", "IAB9", "IAB12", "IAB13-7", "IAB17",
    "IAB19-6", "IAB20",
];

/// Targeting keywords.
pub(crate) const KEYWORDS: &[&str] = &[
    "running shoes",
    "cheap flights",
    "home loan",
    "smartphone",
    "vegan recipes",
    "electric car",
    "yoga",
    "football",
    "laptop deals",
    "hotel",
];

/// Interests.
pub(crate) const INTERESTS: &[&str] = &[
    "sports", "travel", "cooking", "finance", "gaming", "fitness", "music", "fashion", "auto",
];

/// Age ranges.
pub(crate) const AGE_RANGES: &[&str] = &["18-24", "25-34", "35-44", "45-54", "55-64", "65+"];

/// Conversion types with weights.
pub(crate) const CONVERSION_TYPES: &[(&str, u32)] = &[
    ("PURCHASE", 45),
    ("SIGNUP", 20),
    ("INSTALL", 20),
    ("LEAD", 10),
    ("OTHER", 5),
];
