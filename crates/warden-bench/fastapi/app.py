"""Baseline (b): seed 000's posts API written the way the tutorial does it.

FastAPI + SQLAlchemy ORM + uvicorn, synchronous route functions with a
`Depends(get_db)` session per request and `Depends(get_current_user)`,
which decodes the JWT and loads the user row. Ownership is checked in
Python after fetching the row (404 when missing, 403 when not yours).

It maps onto the tables warden created (same database file), so the data
is identical. Two departures from the tutorial, both in its favour or
neutral, and said in docs/performance.md:
- passwords are warden's argon2id hashes, verified with argon2-cffi
  (the tutorial uses passlib's bcrypt; the same hash keeps the token
  scenario comparing servers, not hash choices);
- the ACL list ("articles I may see") filters in SQL with the same
  `id IN (SELECT article_id FROM acl WHERE user_id = ?)` warden emitted
  before its lists read each alternative of the rule in key order
  (filtering 1,000,000 rows in Python after fetching them would not be a
  benchmark); the single-article read checks the author and then the ACL
  row in Python, as seed 000 does for owners.
"""

import os
from datetime import datetime, timedelta, timezone
from typing import Optional

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import VerifyMismatchError
from fastapi import Depends, FastAPI, HTTPException, Response, status
from fastapi.security import OAuth2PasswordBearer, OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, create_engine, or_, select
from sqlalchemy.orm import Session, declarative_base, sessionmaker

DATABASE_URL = os.environ["DATABASE_URL"]
SECRET_KEY = os.environ["JWT_SECRET"]
ALGORITHM = "HS256"
ACCESS_TOKEN_EXPIRE_MINUTES = 30

# database.py
IS_SQLITE = DATABASE_URL.startswith("sqlite")
engine = create_engine(
    DATABASE_URL,
    connect_args={"check_same_thread": False, "timeout": 5} if IS_SQLITE else {},
)
SessionLocal = sessionmaker(autocommit=False, autoflush=False, bind=engine)
Base = declarative_base()


def get_db():
    db = SessionLocal()
    try:
        yield db
    finally:
        db.close()


# models.py (warden stores SQLite timestamps as RFC 3339 text)
Timestamp = String if IS_SQLITE else DateTime(timezone=True)


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True, nullable=False)
    email = Column(String, nullable=False, unique=True)
    password = Column(String, nullable=False)
    is_superuser = Column(Boolean, nullable=False, default=False)


class Post(Base):
    __tablename__ = "posts"
    id = Column(Integer, primary_key=True, nullable=False)
    title = Column(String, nullable=False)
    content = Column(String, nullable=False)
    published = Column(Boolean, nullable=False, default=True)
    created_at = Column(Timestamp, nullable=False)
    owner_id = Column(Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


class Article(Base):
    __tablename__ = "articles"
    id = Column(Integer, primary_key=True, nullable=False)
    title = Column(String, nullable=False)
    body = Column(String, nullable=False)
    created_on = Column(Timestamp, nullable=False)
    author_id = Column(Integer, ForeignKey("users.id"), nullable=False)


class Acl(Base):
    __tablename__ = "acl"
    id = Column(Integer, primary_key=True, nullable=False)
    article_id = Column(Integer, ForeignKey("articles.id"), nullable=False)
    user_id = Column(Integer, ForeignKey("users.id"), nullable=False)


# schemas.py
class PostBase(BaseModel):
    title: str
    content: str
    published: bool = True


class PostUpdate(BaseModel):
    title: Optional[str] = None
    content: Optional[str] = None
    published: Optional[bool] = None


class PostOut(PostBase):
    model_config = ConfigDict(from_attributes=True)
    id: int
    created_at: str | datetime
    owner_id: int


class ArticleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    title: str
    body: str
    created_on: str | datetime
    author_id: int


class ArticlePage(BaseModel):
    items: list[ArticleOut]
    next: Optional[int]


class Token(BaseModel):
    access_token: str
    token_type: str


# oauth2.py
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="auth/token")
hasher = PasswordHasher()


def create_access_token(data: dict) -> str:
    to_encode = data.copy()
    expire = datetime.now(timezone.utc) + timedelta(minutes=ACCESS_TOKEN_EXPIRE_MINUTES)
    to_encode.update({"exp": expire})
    return jwt.encode(to_encode, SECRET_KEY, algorithm=ALGORITHM)


def get_current_user(token: str = Depends(oauth2_scheme), db: Session = Depends(get_db)):
    credentials_exception = HTTPException(
        status_code=status.HTTP_401_UNAUTHORIZED,
        detail="Could not validate credentials",
        headers={"WWW-Authenticate": "Bearer"},
    )
    try:
        payload = jwt.decode(token, SECRET_KEY, algorithms=[ALGORITHM])
        user_id = payload.get("user_id")
        if user_id is None:
            raise credentials_exception
    except jwt.PyJWTError:
        raise credentials_exception
    user = db.query(User).filter(User.id == user_id).first()
    if user is None:
        raise credentials_exception
    return user


app = FastAPI()


# routers/auth.py
@app.post("/auth/token", response_model=Token)
def login(user_credentials: OAuth2PasswordRequestForm = Depends(), db: Session = Depends(get_db)):
    user = db.query(User).filter(User.email == user_credentials.username).first()
    if not user:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Invalid Credentials")
    try:
        hasher.verify(user.password, user_credentials.password)
    except VerifyMismatchError:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Invalid Credentials")
    access_token = create_access_token(data={"user_id": user.id})
    return {"access_token": access_token, "token_type": "bearer"}


# routers/post.py
@app.get("/posts/{id}", response_model=PostOut)
def get_post(id: int, db: Session = Depends(get_db), current_user: User = Depends(get_current_user)):
    post = db.query(Post).filter(Post.id == id).first()
    if not post:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"post with id: {id} was not found")
    return post


def update_post(id: int, values: dict, db: Session, current_user: User):
    post_query = db.query(Post).filter(Post.id == id)
    post = post_query.first()
    if post is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"post with id: {id} does not exist")
    if post.owner_id != current_user.id:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Not authorized to perform requested action")
    post_query.update(values, synchronize_session=False)
    db.commit()
    return post_query.first()


@app.put("/posts/{id}", response_model=PostOut)
def put_post(id: int, updated_post: PostBase, db: Session = Depends(get_db),
             current_user: User = Depends(get_current_user)):
    return update_post(id, updated_post.model_dump(), db, current_user)


@app.patch("/posts/{id}", response_model=PostOut)
def patch_post(id: int, updated_post: PostUpdate, db: Session = Depends(get_db),
               current_user: User = Depends(get_current_user)):
    return update_post(id, updated_post.model_dump(exclude_unset=True), db, current_user)


@app.delete("/posts/{id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_post(id: int, db: Session = Depends(get_db), current_user: User = Depends(get_current_user)):
    post_query = db.query(Post).filter(Post.id == id)
    post = post_query.first()
    if post is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"post with id: {id} does not exist")
    if post.owner_id != current_user.id:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Not authorized to perform requested action")
    post_query.delete(synchronize_session=False)
    db.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# routers/article.py: seed 004's access rule, checked the seed 000 way.
@app.get("/articles/{id}", response_model=ArticleOut)
def get_article(id: int, db: Session = Depends(get_db), current_user: User = Depends(get_current_user)):
    article = db.query(Article).filter(Article.id == id).first()
    if not article:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"article with id: {id} was not found")
    if article.author_id != current_user.id:
        grant = db.query(Acl).filter(Acl.article_id == id, Acl.user_id == current_user.id).first()
        if grant is None:
            raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Not authorized to perform requested action")
    return article


@app.get("/articles", response_model=ArticlePage)
def list_articles(db: Session = Depends(get_db), current_user: User = Depends(get_current_user),
                  limit: int = 20):
    limit = max(1, min(limit, 100))
    granted = Article.id.in_(select(Acl.article_id).where(Acl.user_id == current_user.id))
    rows = (
        db.query(Article)
        .filter(or_(Article.author_id == current_user.id, granted))
        .order_by(Article.id)
        .limit(limit + 1)
        .all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next": rows[-1].id if more and rows else None}
