"""Word pools for generated contacts, on top of the demo's (``rapport.demo.names``).

A million contacts drawn from a few dozen surnames would make every name search hit a tenth
of the base; real bases are skewed but broad, so surnames here are the demo's plus roots
combined with the usual endings, and first names are drawn with a skew (a few are common).
"""

from __future__ import annotations

from rapport.demo import names

RU_ROOTS = [
    "Белов", "Беляк", "Бобр", "Богдан", "Борисов", "Быков", "Виноград", "Воробь", "Гаврил",
    "Голуб", "Горбун", "Гусев", "Давыд", "Дорофе", "Жуков", "Журавл", "Заха", "Зайц", "Зимин",
    "Калин", "Карп", "Киселёв", "Клим", "Ковал", "Комар", "Коновал", "Корол", "Крылов",
    "Кудряв", "Лаврент", "Ларион", "Лукин", "Мальц", "Медвед", "Мельник", "Мирон", "Муравь",
    "Назар", "Олейник", "Осип", "Панфил", "Пестов", "Поляк", "Прохор", "Рыбак", "Савел",
    "Сафон", "Селезн", "Сидор", "Симон", "Соболь", "Сорок", "Тарас", "Тимоф", "Титов",
    "Трофим", "Ульян", "Филипп", "Фомин", "Харитон", "Цвет", "Чернов", "Шаров", "Щукин",
    "Юдин", "Яковл", "Ястреб",
]
RU_ENDINGS = ["ов", "ев", "ин", "енко", "ский", "ович", "ых", ""]
EN_ROOTS = [
    "Ash", "Black", "Brad", "Brook", "Cart", "Chap", "Clark", "Cole", "Cook", "Craw", "Dal",
    "Ell", "Fair", "Field", "Ford", "Fox", "Gard", "Gold", "Hall", "Hamp", "Hart", "Hill",
    "Holt", "Kings", "Lang", "Law", "Lock", "Mars", "Mead", "Mill", "Moor", "New", "North",
    "Park", "Pen", "Red", "Ridge", "Rock", "Rose", "Shaw", "Stan", "Stone", "Strat", "Sut",
    "Thorn", "Wal", "Ward", "West", "Wood", "Wyn",
]
EN_ENDINGS = ["ton", "ley", "er", "son", "well", "by", "field", "man", "s", "wood"]

RU_LAST = list(dict.fromkeys(
    [*names.RU_LAST, *(root + end for root in RU_ROOTS for end in RU_ENDINGS)]
))
EN_LAST = list(dict.fromkeys(
    [*names.EN_LAST, *(root + end for root in EN_ROOTS for end in EN_ENDINGS)]
))
RU_FIRST_MALE = [*names.RU_FIRST_MALE, "Артём", "Григорий", "Денис", "Евгений", "Илья",
                 "Константин", "Леонид", "Матвей", "Никита", "Пётр", "Станислав", "Фёдор"]
RU_FIRST_FEMALE = [*names.RU_FIRST_FEMALE, "Валерия", "Вера", "Галина", "Евгения", "Жанна",
                   "Зоя", "Лариса", "Любовь", "Людмила", "Маргарита", "Надежда", "Софья"]
EN_FIRST = [*names.EN_FIRST, "Alice", "Ben", "Charlotte", "David", "Emily", "Frank", "Hannah",
            "Isaac", "Jessica", "Liam", "Mia", "Noah", "Paul", "Rachel", "Sarah", "Zoe"]

RU_COMPANY_WORDS = [*names.RU_COMPANY_WORDS, "Восход", "Горизонт", "Импульс", "Континент",
                    "Лидер", "Магистраль", "Норд", "Орион", "Спектр", "Феникс", "Энергия"]
EN_COMPANY_WORDS = [*names.EN_COMPANY_WORDS, "Apex", "Beacon", "Cedar", "Delta", "Evergreen",
                    "Falcon", "Granite", "Horizon", "Juniper", "Nimbus", "Orbit", "Pioneer"]
RU_COMPANY_FORMS = names.RU_COMPANY_FORMS
EN_COMPANY_FORMS = names.EN_COMPANY_FORMS
RU_CITIES = names.RU_CITIES
EN_CITIES = names.EN_CITIES
POSITIONS_RU = names.POSITIONS_RU
POSITIONS_EN = names.POSITIONS_EN
SOURCES = names.SOURCES
NOTES = names.NOTES
TASKS = names.TASKS
TAGS = [*names.TAGS, "дилер", "тендер", "холодный", "горячий", "partner", "reseller",
        "churn risk", "newsletter", "event 2026", "enterprise", "smb", "government"]
EMAIL_DOMAINS_RU = ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "rambler.ru"]
EMAIL_DOMAINS_EN = ["gmail.com", "outlook.com", "example.co.uk", "yahoo.com", "icloud.com"]
